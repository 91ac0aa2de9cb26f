"""Read-your-writes across real processes: `lifeceo serve --workers 2`, first with no Redis (each
worker's cache is its own; invalidations travel over PostgreSQL LISTEN/NOTIFY), then on the same
data with a private Redis as the shared tier. Both workers cache a feed before the write; the
next read after it, on a new connection to whichever worker, shows the write."""

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.redis_server import RedisServer
from tests.serving import Served, environment

pytestmark = pytest.mark.slow

PASSWORD = "milonga-password"
# Reads at once, each on its own connection: both workers take some and cache what they read.
WARMING_READS = 12
# Reads after a write, one after another, each on a new connection.
CHECK_READS = 6


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache-serve") / "data"


@pytest.fixture
def serve(data_dir: Path) -> Iterator:
    started: list[Served] = []

    def start(redis_url: str | None = None) -> Served:
        env = environment(drop=["LIFECEO_DATABASE_URL", "LIFECEO_REDIS_URL"],
                          data_dir=str(data_dir), ratelimit_enabled="false", redis_url=redis_url)
        started.append(Served(data_dir.parent / "serve.log", env))
        started[-1].wait_ready()
        return started[-1]

    yield start
    for server in started:
        server.stop()


def _read(url: str, path: str, headers: dict | None = None) -> dict:
    """One GET on a connection of its own."""
    with httpx.Client(base_url=url) as http:
        response = http.get(path, headers=headers or {})
    assert response.status_code == 200, (path, response.text)
    return response.json()


def _write(url: str, method: str, path: str, headers: dict, **kwargs) -> dict:
    with httpx.Client(base_url=url) as http:
        response = http.request(method, path, headers=headers, **kwargs)
    assert response.status_code in (200, 201), (path, response.text)
    return response.json()


def _warm(url: str, reads: list[tuple[str, dict | None]]) -> None:
    async def one(path: str, headers: dict | None) -> None:
        async with httpx.AsyncClient(base_url=url) as http:
            assert (await http.get(path, headers=headers or {})).status_code == 200

    async def all_of_them() -> None:
        await asyncio.gather(*(one(path, headers) for path, headers in reads
                               for _ in range(WARMING_READS)))

    asyncio.run(all_of_them())


def _user(url: str, username: str) -> dict:
    with httpx.Client(base_url=url) as http:
        http.post("/api/v1/auth/register", json={
            "username": username, "email": f"{username}@example.org", "password": PASSWORD})
        login = http.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['token']}"}


def _read_your_writes(url: str, round_name: str) -> None:
    author, fan = _user(url, "author"), _user(url, "fan")
    _write(url, "POST", "/api/v1/users/author/follow", fan)
    first = _write(url, "POST", "/api/v1/posts", author, json={"body": f"{round_name} first"})
    reads = [("/api/v1/feed", fan), ("/api/v1/feed", author), ("/api/v1/feed/public", None),
             ("/api/v1/users/author/posts", fan), (f"/api/v1/posts/{first['id']}", None)]

    def every_read_shows(check) -> None:
        for _ in range(CHECK_READS):
            check()

    _warm(url, reads)
    post = _write(url, "POST", "/api/v1/posts", author, json={"body": f"{round_name} new"})
    every_read_shows(lambda: _assert_first_body(url, fan, f"{round_name} new"))

    _warm(url, reads + [(f"/api/v1/posts/{post['id']}", None)])
    _write(url, "POST", f"/api/v1/posts/{post['id']}/like", fan)

    def liked() -> None:
        assert _read(url, f"/api/v1/posts/{post['id']}")["like_count"] == 1
        item = _read(url, "/api/v1/feed", fan)["items"][0]
        assert (item["like_count"], item["liked_by_me"]) == (1, True)

    every_read_shows(liked)

    _warm(url, reads + [(f"/api/v1/posts/{post['id']}", None)])
    _write(url, "PATCH", f"/api/v1/posts/{post['id']}", author, json={"body": "edited"})

    def edited() -> None:
        _assert_first_body(url, fan, "edited")
        assert _read(url, f"/api/v1/posts/{post['id']}")["body"] == "edited"
        assert _read(url, "/api/v1/feed/public")["items"][0]["body"] == "edited"

    every_read_shows(edited)


def _assert_first_body(url: str, headers: dict, body: str) -> None:
    assert _read(url, "/api/v1/feed", headers)["items"][0]["body"] == body


def test_two_workers_without_redis_read_their_writes(serve):
    server = serve()
    _read_your_writes(server.url, "postgres")
    assert set(_read(server.url, "/api/health/ready")["checks"]["cache:invalidationBus"][0]
               ["observedValue"]) == {"postgres"}


def test_two_workers_with_redis_read_their_writes(serve, redis_server: RedisServer):
    server = serve(redis_server.url)
    ready = _read(server.url, "/api/health/ready")
    assert ready["checks"]["cache:l2"][0]["status"] == "pass", ready
    _read_your_writes(server.url, "redis")
