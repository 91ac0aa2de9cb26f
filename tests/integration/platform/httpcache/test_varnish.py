"""Debian's varnishd with deploy/varnish/default.vcl in front of a real `lifeceo serve`: cache hits,
pass for credentials, purge on write, and grace while the application is down.

The shipped VCL names lifeceo's default address; the two lines marked `# backend-address` are
rewritten to the port the test's server listens on. The tests share one stack, in order; the last
one stops the application."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.redis_server import free_port
from tests.unit.community.test_media_processing_pipeline import photo

pytestmark = pytest.mark.slow

VARNISHD = shutil.which("varnishd") or "/usr/sbin/varnishd"
VARNISHADM = shutil.which("varnishadm") or "/usr/bin/varnishadm"
LIFECEO = Path(sys.executable).with_name("lifeceo")
VCL = Path(__file__).resolve().parents[4] / "deploy" / "varnish" / "default.vcl"
FEED = "/api/v1/feed/public"
PASSWORD = "milonga-password"
# Short enough that the grace test need not wait long for the copy to go stale.
MAX_AGE_SECONDS = 1
READY_TIMEOUT_SECONDS = 60


def render_vcl(host: str, port: int) -> str:
    text, count = re.subn(r'\.host = "[^"]*";\s*# backend-address', f'.host = "{host}";',
                          VCL.read_text())
    text, count_port = re.subn(r'\.port = "[^"]*";\s*# backend-address', f'.port = "{port}";', text)
    assert count == count_port == 1, "the backend-address lines of default.vcl moved"
    return text


def wait_until(ready, what: str, timeout: float = READY_TIMEOUT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, f"{what} within {timeout} s"
        time.sleep(0.05)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@dataclass
class Stack:
    app: subprocess.Popen
    app_url: str
    varnish: subprocess.Popen
    varnish_url: str
    workdir: Path
    log: Path

    def backend_sick(self) -> bool:
        listing = subprocess.run([VARNISHADM, "-n", str(self.workdir), "backend.list"],
                                 check=False, capture_output=True, text=True, timeout=10)
        return "sick" in listing.stdout.lower()


@pytest.fixture(scope="module")
def stack(database_url: str, tmp_path_factory) -> Iterator[Stack]:
    if not os.path.exists(VARNISHD):
        if os.environ.get("LIFECEO_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail("varnishd is not installed (apt-get install varnish varnish-modules)")
        pytest.skip("varnishd is not installed")
    directory = tmp_path_factory.mktemp("varnish")
    app_port, varnish_port = free_port(), free_port()
    log = directory / "serve.log"
    env = os.environ | {
        # The session's test database, already migrated: no initdb to wait for.
        "LIFECEO_DATABASE_URL": database_url,
        "LIFECEO_DATA_DIR": str(directory / "data"),
        "LIFECEO_VARNISH_PURGE_URLS": f"http://127.0.0.1:{varnish_port}/",
        "LIFECEO_HTTP_PUBLIC_MAX_AGE_SECONDS": str(MAX_AGE_SECONDS),
        "LIFECEO_RATELIMIT_ENABLED": "false",
    }
    with log.open("ab") as output:
        app = subprocess.Popen([str(LIFECEO), "serve", "--workers", "1", "--port", str(app_port)],
                               env=env, stdout=output, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)
    vcl = directory / "default.vcl"
    vcl.write_text(render_vcl("127.0.0.1", app_port))
    workdir = directory / "varnishd"
    # -j none: as root, Debian's varnishd would otherwise drop to users that cannot read pytest's
    # private temporary directory.
    jail = ["-j", "none"] if os.geteuid() == 0 else []
    with (directory / "varnishd.log").open("ab") as output:
        varnish = subprocess.Popen(
            [VARNISHD, "-F", *jail, "-n", str(workdir), "-a", f"127.0.0.1:{varnish_port}",
             "-T", "127.0.0.1:0", "-f", str(vcl), "-s", "malloc,64m"],
            stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    running = Stack(app, f"http://127.0.0.1:{app_port}", varnish,
                    f"http://127.0.0.1:{varnish_port}", workdir, log)
    try:
        wait_until(lambda: app.poll() is None and answers(f"{running.app_url}/api/health"),
                   "lifeceo serve answers")
        wait_until(lambda: varnish.poll() is None and answers(f"{running.varnish_url}/api/health"),
                   "varnishd answers")
        yield running
    finally:
        for process in (app, varnish):
            if process.poll() is None:
                process.terminate()
                process.wait(30)


@pytest.fixture(scope="module")
def writer(stack: Stack) -> dict[str, str]:
    username = f"v{uuid.uuid4().hex[:12]}"
    with httpx.Client(base_url=stack.varnish_url) as http:
        registered = http.post("/api/v1/auth/register", json={
            "username": username, "email": f"{username}@example.org", "password": PASSWORD})
        assert registered.status_code == 201, registered.text
        login = http.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['token']}"}


def test_anonymous_reads_are_cached_and_credentials_pass(stack, writer):
    with httpx.Client(base_url=stack.varnish_url) as http:
        first = http.get(FEED)
        second = http.get(FEED, headers={"Cookie": "lifeceo_csrf=abc; theme=dark"})
        assert first.status_code == second.status_code == 200
        assert second.headers["x-cache"] == "HIT", second.headers
        assert second.json() == first.json()
        assert "xkey" not in second.headers and "surrogate-key" not in second.headers
        assert second.headers["cache-control"].startswith("public, max-age=")
        not_modified = http.get(FEED, headers={"If-None-Match": second.headers["etag"]})
        assert not_modified.status_code == 304
        bearer = http.get(FEED, headers=writer)
        assert bearer.headers["x-cache"] == "PASS"
        assert bearer.headers["cache-control"] == "private, no-cache"
        session = http.get(FEED, headers={"Cookie": "lifeceo_session=whatever"})
        assert session.headers["x-cache"] == "PASS"
        assert http.get("/api/health").headers["x-cache"] != "HIT"


def test_a_write_purges_the_pages_that_show_it(stack, writer):
    with httpx.Client(base_url=stack.varnish_url) as http:
        http.get(FEED)
        assert http.get(FEED).headers["x-cache"] == "HIT"
        body = f"Purged into view {uuid.uuid4().hex}"
        created = http.post("/api/v1/posts", headers=writer, json={"body": body})
        assert created.status_code == 201, created.text
        assert created.headers["x-cache"] == "PASS"
        after = http.get(FEED)
        assert after.headers["x-cache"] == "MISS"
        assert body in [item["body"] for item in after.json()["items"]]
        assert http.get(FEED).headers["x-cache"] == "HIT"

        post = f"/api/v1/posts/{created.json()['id']}"
        http.get(post)
        assert http.get(post).json()["like_count"] == 0
        assert http.post(f"{post}/like", headers=writer).status_code == 200
        liked = http.get(post)
        assert liked.headers["x-cache"] == "MISS" and liked.json()["like_count"] == 1


def test_a_photo_is_kept_while_a_public_post_shows_it_and_purged_when_none_does(stack, writer):
    with httpx.Client(base_url=stack.varnish_url) as http:
        uploaded = http.post("/api/v1/media", headers=writer,
                             files={"file": ("photo.jpg", photo(400, 300), "image/jpeg")})
        assert uploaded.status_code == 201, uploaded.text
        media_id = uploaded.json()["id"]
        # Processed inline: ready by the time the owner reads it.
        media = http.get(f"/api/v1/media/{media_id}", headers=writer).json()
        assert media["status"] == "ready"
        # The largest rendition and a variant: kept for a year once shared, so that only a
        # purge can drop them.
        urls = [media["url"], media["variants"][0]["url"]]
        post = http.post("/api/v1/posts", headers=writer, json={
            "body": "Photos of the milonga", "visibility": "followers", "media_id": media_id})
        assert post.status_code == 201, post.text
        path = f"/api/v1/posts/{post.json()['id']}"
        for _ in range(2):
            for url in urls:
                hidden = http.get(url)
                assert hidden.status_code == 404 and hidden.headers["x-cache"] != "HIT", url

        def shared() -> None:
            for url in urls:
                # The 404s were not kept: public at once.
                assert http.get(url).status_code == 200, url
                again = http.get(url)
                assert again.headers["x-cache"] == "HIT", url
                assert "xkey" not in again.headers

        def revoked() -> None:
            for url in urls:
                answer = http.get(url)
                assert answer.status_code == 404, (url, answer.headers.get("x-cache"))

        assert http.patch(path, headers=writer, json={"visibility": "public"}).status_code == 200
        shared()
        assert http.patch(path, headers=writer, json={"visibility": "private"}).status_code == 200
        revoked()
        assert http.patch(path, headers=writer, json={"visibility": "public"}).status_code == 200
        shared()
        assert http.delete(path, headers=writer).status_code == 204
        revoked()


def test_answers_not_marked_public_are_never_kept(stack):
    with httpx.Client(base_url=stack.varnish_url) as http:
        # An anonymous read that no cache may share.
        for _ in range(2):
            answered = http.get("/api/v1/search?q=tango")
            assert answered.status_code == 200
            assert answered.headers["cache-control"] == "private, no-cache"
            assert answered.headers["x-cache"] != "HIT"


def test_grace_serves_the_cached_feed_while_the_app_is_down(stack):
    with httpx.Client(base_url=stack.varnish_url) as http:
        http.get(FEED)
        cached = http.get(FEED)
        assert cached.headers["x-cache"] == "HIT"
        stack.app.send_signal(signal.SIGTERM)
        assert stack.app.wait(30) == 0
        assert not answers(f"{stack.app_url}/api/health")
        wait_until(stack.backend_sick, "the probe marks the backend sick", timeout=10)
        # Past max-age: only grace can explain a copy now.
        time.sleep(MAX_AGE_SECONDS + 0.2)
        for _ in range(2):
            stale = http.get(FEED)
            assert stale.status_code == 200
            assert stale.headers["x-cache"] == "HIT"
            assert int(stale.headers["age"]) > MAX_AGE_SECONDS
            assert stale.json() == cached.json()
        assert http.get("/api/v1/events?city=nowhere").status_code == 503
