"""A change through the admin API reaches both workers of a real `lifeceo serve --workers 2`
within a second: over PostgreSQL NOTIFY without Redis, over Redis pub/sub with it."""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url
from tests.redis_server import RedisServer, free_port

pytestmark = pytest.mark.slow

LIFECEO = Path(sys.executable).with_name("lifeceo")
READY_TIMEOUT_SECONDS = 90
PASSWORD = "milonga-password"
PROPAGATION_SECONDS = 1.0


@pytest.fixture
def fresh_database(database_url) -> Iterator[str]:
    """An empty database of its own on the test server: serve migrates it."""
    admin_url = make_url(database_url).set(drivername="postgresql")
    name = f"lifeceo_flags_{uuid.uuid4().hex[:8]}"
    server_url = admin_url.render_as_string(hide_password=False)
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield admin_url.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def serve(tmp_path, fresh_database) -> Iterator:
    processes: list[subprocess.Popen] = []

    def start(redis_url: str | None = None) -> str:
        port = free_port()
        env = {key: value for key, value in os.environ.items() if key != "LIFECEO_REDIS_URL"}
        env.update(LIFECEO_DATA_DIR=str(tmp_path / "data"), LIFECEO_DATABASE_URL=fresh_database,
                   LIFECEO_RATELIMIT_ENABLED="false", LIFECEO_JOBS_WORKER_IN_SERVE="false",
                   # Longer than the test: only the announcement can carry the change.
                   LIFECEO_FLAGS_RESYNC_SECONDS="600")
        if redis_url:
            env["LIFECEO_REDIS_URL"] = redis_url
        log = tmp_path / "serve.log"
        with log.open("ab") as output:
            processes.append(subprocess.Popen(
                [str(LIFECEO), "serve", "--workers", "2", "--port", str(port)], env=env,
                stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert processes[-1].poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"{url}/api/health/ready").status_code == 200:
                    return url
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"not ready in {READY_TIMEOUT_SECONDS} s")

    yield start
    for process in processes:
        if process.poll() is None:
            process.terminate()
            process.wait(60)


def _admin(url: str, database: str) -> dict[str, str]:
    with httpx.Client(base_url=url) as http:
        http.post("/api/v1/auth/register", json={
            "username": "boss", "email": "boss@example.org", "password": PASSWORD})
        login = http.post("/api/v1/auth/login", json={"username": "boss", "password": PASSWORD})
    assert login.status_code == 200, login.text
    with psycopg.connect(database, autocommit=True) as connection:
        connection.execute("UPDATE users SET is_admin = true WHERE username = 'boss'")
    return {"Authorization": f"Bearer {login.json()['token']}"}


def _one_connection_per_worker(url: str) -> dict[int, httpx.Client]:
    """Keep-alive connections, one pinned to each worker process (told apart by pid)."""
    pinned: dict[int, httpx.Client] = {}
    for _ in range(60):
        http = httpx.Client(base_url=url)
        pid = http.get("/api/health").json()["pid"]
        if pid in pinned:
            http.close()
        else:
            pinned[pid] = http
        if len(pinned) == 2:
            return pinned
    raise AssertionError("could not reach both workers")


def _change_seen_by_both_workers(url: str, database: str) -> None:
    admin = _admin(url, database)
    workers = _one_connection_per_worker(url)
    try:
        for pid, http in workers.items():
            assert http.get("/api/health").json()["pid"] == pid
            assert http.get("/api/v1/flags").json()["flags"]["virtual-scrolling"]["enabled"]
        with httpx.Client(base_url=url) as http:
            version = http.get("/api/v1/admin/flags/virtual-scrolling", headers=admin).json()[
                "version"]
            changed = http.patch("/api/v1/admin/flags/virtual-scrolling", headers=admin,
                                 json={"version": version, "enabled": False})
        assert changed.status_code == 200, changed.text
        changed_at = time.monotonic()
        seen_after = {}
        while len(seen_after) < 2 and time.monotonic() - changed_at < 5:
            for pid, http in workers.items():
                if pid not in seen_after and not http.get("/api/v1/flags").json()["flags"][
                        "virtual-scrolling"]["enabled"]:
                    seen_after[pid] = time.monotonic() - changed_at
            time.sleep(0.01)
        print("change seen by each worker after (s):", seen_after)
        assert set(seen_after) == set(workers)
        assert max(seen_after.values()) < PROPAGATION_SECONDS
        for pid, http in workers.items():
            assert http.get("/api/health").json()["pid"] == pid
    finally:
        for http in workers.values():
            http.close()


def test_a_change_reaches_both_workers_over_notify(serve, fresh_database):
    url = serve()
    _change_seen_by_both_workers(url, fresh_database)


def test_a_change_reaches_both_workers_over_redis(serve, fresh_database,
                                                  redis_server: RedisServer):
    url = serve(redis_server.url)
    _change_seen_by_both_workers(url, fresh_database)
