"""A change through the admin API reaches both workers of a real `lifeceo serve --workers 2`
within a second: over PostgreSQL NOTIFY without Redis, over Redis pub/sub with it."""

import time
import uuid
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url
from tests.redis_server import RedisServer
from tests.serving import Served, environment

pytestmark = pytest.mark.slow

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
    started: list[Served] = []

    def start(redis_url: str | None = None) -> str:
        env = environment(drop=["LIFECEO_REDIS_URL"], data_dir=str(tmp_path / "data"),
                          database_url=fresh_database, ratelimit_enabled="false",
                          jobs_worker_in_serve="false", redis_url=redis_url,
                          # Longer than the test: only the announcement can carry the change.
                          flags_resync_seconds="600")
        started.append(Served(tmp_path / "serve.log", env))
        started[-1].wait_ready()
        return started[-1].url

    yield start
    for server in started:
        server.stop()


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
