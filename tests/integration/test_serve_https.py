"""HTTPS as a trusted proxy reports it: the real `lifeceo serve`, whose uvicorn believes
X-Forwarded-Proto only from LIFECEO_FORWARDED_ALLOW_IPS, gives HSTS and Secure cookies to those
requests alone."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

LIFECEO = Path(sys.executable).with_name("lifeceo")
# Two workers importing the application on a loaded machine; the database is already migrated.
READY_TIMEOUT_SECONDS = 90
PASSWORD = "forwarded-password"
TRUSTED_PROXY = "127.0.0.1"
# Also this machine's loopback, but not in the allowed list: a client that claims HTTPS.
UNTRUSTED_CLIENT = "127.0.0.2"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server_url(database_url: str, tmp_path_factory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("serve-https")
    port = free_port()
    env = {**os.environ, "LIFECEO_DATA_DIR": str(directory / "data"),
           "LIFECEO_DATABASE_URL": database_url, "LIFECEO_FORWARDED_ALLOW_IPS": TRUSTED_PROXY,
           "LIFECEO_JOBS_WORKER_IN_SERVE": "false"}
    log = directory / "serve.log"
    with log.open("ab") as output:
        process = subprocess.Popen([str(LIFECEO), "serve", "--workers", "2", "--port", str(port)],
                                   env=env, stdout=output, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, f"not serving in {READY_TIMEOUT_SECONDS} s"
            try:
                if httpx.get(f"{url}/api/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(60)


def login(http: httpx.Client, username: str) -> httpx.Response:
    registered = http.post("/api/v1/auth/register", json={
        "username": username, "email": f"{username}@example.org", "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    response = http.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response


def secure_flags(response: httpx.Response) -> list[bool]:
    return ["secure" in {part.strip().lower() for part in cookie.split(";")}
            for cookie in response.headers.get_list("set-cookie")]


@pytest.mark.parametrize(("client_address", "https"), [
    (TRUSTED_PROXY, True), (UNTRUSTED_CLIENT, False)])
def test_hsts_and_secure_cookies_only_when_a_trusted_proxy_says_https(server_url, client_address,
                                                                      https):
    transport = httpx.HTTPTransport(local_address=client_address)
    with httpx.Client(base_url=server_url, transport=transport,
                      headers={"X-Forwarded-Proto": "https"}) as http:
        response = login(http, f"forwarded{client_address.replace('.', '')}")
        health = http.get("/api/health")
    assert secure_flags(response) == [https, https]
    for answer in (response, health):
        assert ("strict-transport-security" in answer.headers) is https, answer.headers
        assert answer.headers["x-content-type-options"] == "nosniff"
    if https:
        assert response.headers["strict-transport-security"].startswith("max-age=")


def test_the_documentation_page_loads_from_the_server_alone(server_url):
    # The page and every file it names come from this server: nothing leaves the machine.
    with httpx.Client(base_url=server_url) as http:
        page = http.get("/docs")
        assert page.status_code == 200
        for reference in ("/docs/vendor/swagger-ui-bundle.js", "/docs/vendor/swagger-ui.css",
                          "/docs/static/swagger-init.js"):
            assert f'"{reference}"' in page.text
            assert http.get(reference).status_code == 200
        assert "http://" not in page.text and "https://" not in page.text
