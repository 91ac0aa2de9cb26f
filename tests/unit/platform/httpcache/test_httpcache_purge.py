"""Purging: the keys each write changes, and the PURGE requests that reach Varnish (here a small
recording HTTP server in its place; tests/integration/platform/httpcache has the real one)."""

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest
import structlog
from tests.redis_server import free_port
from tests.unit.platform.httpcache.asgi_apps import client_of, responding

from lifeceo.platform.httpcache import add_surrogate_keys
from lifeceo.platform.httpcache.invalidation import PurgeOnWriteMiddleware, write_route
from lifeceo.platform.httpcache.surrogate import (
    VarnishPurger,
    header_values,
    purger_for,
)


class RecordingVarnish:
    """Answers every request with `status` and keeps (method, xkey-purge) of each."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str | None]] = []
        self.status = 200
        self.delay_seconds = 0.0
        self.server: asyncio.Server | None = None
        self.port = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            method = line.split(b" ", 1)[0].decode()
            keys = None
            while (field := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = field.decode().partition(":")
                if name.lower() == "xkey-purge":
                    keys = value.strip()
            await asyncio.sleep(self.delay_seconds)
            self.requests.append((method, keys))
            writer.write(b"HTTP/1.1 %d X\r\nContent-Length: 0\r\n\r\n" % self.status)
            await writer.drain()
        writer.close()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


@pytest.fixture
async def varnish() -> AsyncIterator[RecordingVarnish]:
    recorder = RecordingVarnish()
    await recorder.start()
    yield recorder
    await recorder.stop()


@pytest.mark.parametrize(("method", "path", "body", "keys"), [
    ("POST", "/api/v1/posts", {"author": {"username": "Ana"}}, {"feed:public", "user:ana"}),
    ("POST", "/api/v1/posts", {"author": {"username": "a b"}}, {"feed:public"}),
    ("POST", "/api/v1/posts", ["not", "an", "object"], {"feed:public"}),
    ("PATCH", "/api/v1/posts/12", {}, {"post:12", "feed:public"}),
    ("DELETE", "/api/v1/posts/12", None, {"post:12", "feed:public"}),
    ("POST", "/api/v1/posts/12/like", {}, {"post:12", "feed:public"}),
    ("DELETE", "/api/v1/posts/12/like", {}, {"post:12", "feed:public"}),
    ("POST", "/api/v1/posts/12/comments", {}, {"post:12", "feed:public"}),
    ("DELETE", "/api/v1/posts/12/comments/4", None, {"post:12", "feed:public"}),
    ("PATCH", "/api/v1/me", {"username": "ana"}, {"feed:public", "user:ana"}),
    ("POST", "/api/v1/users/Bob/follow", {}, {"user:bob"}),
    ("PATCH", "/api/v1/users/bob/admin", {}, {"user:bob"}),
    ("POST", "/api/v1/events", {"id": 3}, {"events"}),
    ("PATCH", "/api/v1/events/3", {}, {"events", "event:3"}),
    ("POST", "/api/v1/events/3/cancel", {}, {"events", "event:3"}),
    ("DELETE", "/api/v1/events/3/rsvp", {}, {"events", "event:3"}),
    ("DELETE", "/api/v1/media/9", None, {"media:9"}),
])
def test_each_write_names_what_it_changed(method, path, body, keys):
    route, match = write_route(method, path)
    assert route.keys_for(match, None if body is None else orjson.dumps(body)) == keys


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/api/v1/auth/login"), ("POST", "/api/v1/media"), ("GET", "/api/v1/posts/1"),
    ("PUT", "/api/v1/posts/1/like"),
])
def test_writes_that_change_no_cached_page(method, path):
    assert write_route(method, path) is None


def test_long_key_lists_are_split_into_header_sized_values():
    values = header_values(f"post:{n}" for n in range(2000))
    assert len(values) > 1 and all(len(value) <= 4096 for value in values)
    assert sorted(" ".join(values).split()) == sorted(f"post:{n}" for n in range(2000))


async def test_a_successful_write_purges_its_keys_before_the_response_is_released(varnish):
    purger = VarnishPurger([varnish.url])

    async def app(scope, receive, send):
        add_surrogate_keys("user:bob")
        await responding(b'{"liked": true}')(scope, receive, send)

    # A generous wait: the point is the order, on however loaded a machine.
    middleware = PurgeOnWriteMiddleware(app, purger=purger, purge_wait_seconds=10)
    async with client_of(middleware) as http:
        response = await http.post("/api/v1/posts/12/like")
        assert varnish.requests == [("PURGE", "feed:public post:12 user:bob")]
    assert response.status_code == 200
    await purger.aclose()


async def test_a_204_is_not_started_before_its_purge(varnish):
    # A client reading a 204 is done at the status line: that, too, waits for the purge.
    purger = VarnishPurger([varnish.url])
    middleware = PurgeOnWriteMiddleware(responding(status=204), purger=purger,
                                        purge_wait_seconds=10)
    purged_when_sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        purged_when_sent.append((message["type"], len(varnish.requests)))

    scope = {"type": "http", "method": "DELETE", "path": "/api/v1/posts/7", "headers": []}
    await middleware(scope, receive, send)
    assert purged_when_sent == [("http.response.start", 1), ("http.response.body", 1)]
    assert varnish.requests == [("PURGE", "feed:public post:7")]
    await purger.aclose()


async def test_a_slow_varnish_delays_a_write_only_briefly(varnish):
    varnish.delay_seconds = 1
    purger = VarnishPurger([varnish.url], timeout_seconds=2)
    middleware = PurgeOnWriteMiddleware(responding(b"{}"), purger=purger, purge_wait_seconds=0.05)
    async with client_of(middleware) as http:
        started = asyncio.get_running_loop().time()
        assert (await http.post("/api/v1/events")).status_code == 200
        assert asyncio.get_running_loop().time() - started < 0.5
    await purger.aclose()
    assert varnish.requests == [("PURGE", "events")]
    assert purger.failures == 0


@pytest.mark.parametrize(("method", "status"), [("POST", 403), ("POST", 422), ("GET", 200)])
async def test_failed_writes_and_reads_purge_nothing(varnish, method, status):
    purger = VarnishPurger([varnish.url])
    app = PurgeOnWriteMiddleware(responding(b"{}", status=status), purger=purger)
    async with client_of(app) as http:
        await http.request(method, "/api/v1/posts/12/like")
    await purger.aclose()
    assert varnish.requests == []


async def test_once_purges_fail_writes_stop_waiting_for_them(varnish):
    varnish.delay_seconds = 1
    purger = VarnishPurger([varnish.url], timeout_seconds=0.2)
    middleware = PurgeOnWriteMiddleware(responding(b"{}"), purger=purger, purge_wait_seconds=10)
    loop = asyncio.get_running_loop()
    async with client_of(middleware) as http:
        await http.post("/api/v1/events")
        assert not purger.healthy
        started = loop.time()
        await http.post("/api/v1/events")
        assert loop.time() - started < 0.15
    await purger.aclose()
    assert purger.failures == 2


async def test_every_varnish_is_purged(varnish):
    second = RecordingVarnish()
    await second.start()
    purger = VarnishPurger([varnish.url, second.url])
    await purger.purge(["event:1", "events"])
    await second.stop()
    await purger.aclose()
    assert varnish.requests == second.requests == [("PURGE", "event:1 events")]


async def test_an_unreachable_varnish_is_logged_once_and_never_fails_the_write(varnish):
    purger = VarnishPurger([f"http://127.0.0.1:{free_port()}/", varnish.url],
                           timeout_seconds=0.5)
    app = PurgeOnWriteMiddleware(responding(b"{}"), purger=purger)
    with structlog.testing.capture_logs() as logs:
        async with client_of(app) as http:
            for _ in range(3):
                assert (await http.delete("/api/v1/media/9")).status_code == 200
        await purger.aclose()
    assert purger.failures == 3 and not purger.healthy
    assert [entry["event"] for entry in logs] == [
        "varnish purge failing; cached pages stay until they expire"]
    assert len(varnish.requests) == 3


async def test_recovery_is_logged_once(varnish):
    purger = VarnishPurger([varnish.url])
    varnish.status = 500
    with structlog.testing.capture_logs() as logs:
        await purger.purge(["post:1"])
        await purger.purge(["post:1"])
        varnish.status = 200
        await purger.purge(["post:1"])
        await purger.purge(["post:1"])
    await purger.aclose()
    assert purger.healthy
    assert [(entry["log_level"], entry["event"]) for entry in logs] == [
        ("warning", "varnish purge failing; cached pages stay until they expire"),
        ("info", "varnish purge recovered"),
    ]
    assert logs[0]["problem"] == "HTTP 500"


def test_purge_addresses_come_from_the_setting():
    assert purger_for("") is None
    assert purger_for(" ") is None
    purger = purger_for("http://127.0.0.1:6081/, http://10.0.0.2:80/")
    assert purger.urls == ("http://127.0.0.1:6081/", "http://10.0.0.2:80/")
    with pytest.raises(ValueError):
        purger_for("127.0.0.1:6081")
