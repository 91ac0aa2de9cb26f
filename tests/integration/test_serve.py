"""The real `lifeceo serve --workers 2` on the embedded database, driven over HTTP and signals.

The tests share one server, started once for the module; the last one shuts it down."""

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path

import httpx
import psutil
import pytest
from tests.serving import Served, environment, passing, serving

from lifeceo.serve import WORKER_EXIT_MARGIN_SECONDS
from lifeceo.settings import Settings

pytestmark = pytest.mark.slow

PASSWORD = "milonga-password"
# Each worker's replacement may take the whole readiness timeout; the job worker's is immediate.
RELOAD_TIMEOUT_SECONDS = 2 * Settings.model_fields["worker_ready_timeout_seconds"].default + 30
# The job worker's stop and PostgreSQL's, after the web workers' bound.
STOP_AFTER_WORKERS_SECONDS = 30


def serve_env(data_dir: Path, **settings: str) -> dict[str, str]:
    # The job worker runs in its own process, as by default (the suite runs jobs inline).
    return environment(drop=["LIFECEO_DATABASE_URL", "LIFECEO_JOBS_INLINE"],
                       data_dir=str(data_dir), **settings)


def job_workers(server: Served) -> set[int]:
    """Live job worker processes (two while a restart retires the old one)."""
    return server.children("lifeceo.cli worker")


class Load:
    """Clients sending requests back to back, each over a keep-alive connection of its own."""

    def __init__(self, url: str, clients: int = 4) -> None:
        self.url = url
        self.served = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client) for _ in range(clients)]

    def _client(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as http:
            while not self._stop.is_set():
                for path in ("/api/health", "/api/health/ready"):
                    try:
                        response = http.get(path)
                    except httpx.HTTPError as exc:
                        self.failures.append(f"{path}: {type(exc).__name__}: {exc}")
                        continue
                    if response.status_code != 200:
                        self.failures.append(f"{path}: {response.status_code} {response.text}")
                    self.served += 1

    def __enter__(self) -> "Load":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("serve") / "data"


@pytest.fixture(scope="module")
def server(data_dir) -> Iterator[Served]:
    with serving(data_dir.parent / "serve.log", serve_env(data_dir), check=passing) as running:
        yield running



def register_and_login(http: httpx.Client, username: str) -> dict[str, str]:
    registered = http.post("/api/v1/auth/register", json={
        "username": username, "email": f"{username}@example.org", "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    login = http.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    http.cookies.clear()
    return {"Authorization": f"Bearer {login.json()['token']}"}


def test_register_login_post_follow_and_home_feed_over_http(server):
    with httpx.Client(base_url=server.url) as http:
        ana = register_and_login(http, "ana")
        bob = register_and_login(http, "bob")
        assert http.get("/api/v1/me", headers=ana).json()["username"] == "ana"
        post = http.post("/api/v1/posts", headers=bob, json={"body": "Milonga tonight!",
                                                             "tags": ["milonga"]})
        assert post.status_code == 201, post.text
        followed = http.post("/api/v1/users/bob/follow", headers=ana)
        assert followed.json() == {"following": True, "followers_count": 1}
        feed = http.get("/api/v1/feed", headers=ana)
        assert feed.status_code == 200, feed.text
        assert [item["body"] for item in feed.json()["items"]] == ["Milonga tonight!"]
        echoed = http.get("/api/health", headers={"X-Request-ID": "trace-me-123"})
        assert echoed.headers["x-request-id"] == "trace-me-123"


def test_a_killed_worker_is_replaced_while_the_other_serves(server):
    workers = server.workers()
    assert len(workers) == 2
    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    # The supervisor looks every 0.5 s and pings each live worker on the way (answered by a
    # thread, which a busy machine may keep waiting): 2 s was once not enough in CI.
    deadline = time.monotonic() + 10
    replaced = False
    while time.monotonic() < deadline and not replaced:
        # A new connection per request: the kernel hands it to a live worker.
        assert httpx.get(f"{server.url}/api/health").status_code == 200
        current = server.workers()
        replaced = victim not in current and len(current) == 2
        time.sleep(0.1)
    assert replaced, server.workers()
    server.wait_ready(passing)


def test_sighup_under_load_replaces_every_worker_and_the_job_worker_without_a_failed_request(
        server):
    web, jobs = server.workers(), job_workers(server)
    assert len(web) == 2 and len(jobs) == 1
    log_size = server.log.stat().st_size
    with Load(server.url) as load:
        time.sleep(1)  # the clients are all sending
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + RELOAD_TIMEOUT_SECONDS
        while True:
            reload_log = server.log.read_bytes()[log_size:].decode(errors="replace")
            assert "not ready in time" not in reload_log, reload_log[-3000:]
            current, current_jobs = server.workers(), job_workers(server)
            if len(current) == 2 and not current & web and len(current_jobs - jobs) == 1 \
                    and not current_jobs & jobs:
                break
            assert time.monotonic() < deadline, reload_log[-3000:]
            time.sleep(0.2)
        time.sleep(1)  # served by the new workers alone
    ready = [line for line in reload_log.splitlines() if "replacement worker ready" in line]
    print("\n".join(ready), f"\nserved {load.served} requests during the reload")
    assert len(ready) == 2
    assert load.failures == []
    assert load.served > 0
    server.wait_ready(passing)


def test_a_second_serve_on_the_same_data_dir_refuses_and_leaves_the_first_alone(server,
                                                                                data_dir):
    second = Served(server.log.with_name("second.log"), serve_env(data_dir))
    assert second.process.wait(60) == 1
    assert "is in use by another lifeceo process" in server.log.with_name("second.log").read_text()
    assert httpx.get(f"{server.url}/api/health/ready").json()["status"] == "pass"


def test_sigterm_finishes_in_flight_requests_answers_idle_connections_then_stops_postgres(
        server, data_dir):
    with httpx.Client(base_url=server.url) as http:
        register_and_login(http, "leaving")
    postmaster_pid = int((data_dir / "pgdata" / "postmaster.pid").read_text().split()[0])
    body = f'{{"username": "leaving", "password": "{PASSWORD}"}}'.encode()
    host, port = server.url.removeprefix("http://").split(":")
    # A keep-alive connection left idle after one request, as a client between two requests.
    idle = HTTPConnection(host, int(port), timeout=30)
    idle.request("GET", "/api/health")
    assert idle.getresponse().read()
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: test\r\n"
                     b"Content-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body) + body[:10])
        time.sleep(0.5)  # the worker has parsed the headers: the request is in flight
        log_size = server.log.stat().st_size
        server.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        while server.log.read_bytes()[log_size:].count(b"Shutting down") < 2:
            assert time.monotonic() < deadline, "the workers did not start shutting down"
            time.sleep(0.1)
        # Its next request is answered, and the client told to go elsewhere for the one after.
        idle.request("GET", "/api/health")
        answer = idle.getresponse()
        assert (answer.status, answer.getheader("connection")) == (200, "close")
        idle.close()
        conn.sendall(body[10:])
        response = conn.recv(65536)
    assert response.startswith(b"HTTP/1.1 200"), response[:200]
    assert server.process.wait(30) == 0
    pgdata = str(data_dir / "pgdata")
    leftovers = [process.pid for process in psutil.process_iter(["cmdline"])
                 if any(pgdata in argument for argument in process.info["cmdline"] or ())]
    assert leftovers == []
    # pg_ctl daemonises the postmaster, so the machine's init reaps it, shortly after it exits.
    deadline = time.monotonic() + 5
    while psutil.pid_exists(postmaster_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not psutil.pid_exists(postmaster_pid)


def test_sigterm_ends_in_bounded_time_even_when_a_worker_cannot_finish_shutting_down(
        tmp_path, redis_server):
    graceful_seconds = 2
    # With Redis: each worker's listeners wait in get_message, as in production.
    stuck_server = Served(tmp_path / "serve.log", serve_env(
        tmp_path / "data", redis_url=redis_server.url,
        graceful_shutdown_seconds=str(graceful_seconds)))
    stuck = None
    try:
        stuck_server.wait_ready(passing)
        # Stopped, it never ends its shutdown, as a worker whose shutdown hangs would not.
        stuck = min(stuck_server.workers())
        os.kill(stuck, signal.SIGSTOP)
        started = time.monotonic()
        stuck_server.process.send_signal(signal.SIGTERM)
        bound = graceful_seconds + WORKER_EXIT_MARGIN_SECONDS + STOP_AFTER_WORKERS_SECONDS
        code = stuck_server.process.wait(bound)
        elapsed = time.monotonic() - started
    finally:
        # Left running by a failure: serve then stops, and stops its PostgreSQL.
        if stuck is not None and psutil.pid_exists(stuck):
            os.kill(stuck, signal.SIGKILL)
        stuck_server.stop()
    print(f"serve stopped in {elapsed:.1f} s with a stopped worker")
    assert code == 0
    assert "worker did not exit in time; killing it" in stuck_server.log.read_text()
    assert not psutil.pid_exists(stuck) or psutil.Process(stuck).status() == psutil.STATUS_ZOMBIE
