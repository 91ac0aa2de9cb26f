"""GET /api/v1/notifications/stream: Server-Sent Events over real HTTP. Each app instance below
is served by uvicorn on its own event loop and thread, with its own engine, cache and live hub,
as a separate worker process would be; the last test uses a real second process."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from tests import factories
from tests.integration.platform.test_pgbouncer import pgbouncer  # noqa: F401  (a fixture)
from tests.redis_server import free_port

from lifeceo.app import create_app
from lifeceo.settings import Settings

STREAM = "/api/v1/notifications/stream"
POSTS = "/api/v1/posts"
READY_TIMEOUT_SECONDS = 30


class ServedApp:
    def __init__(self, **settings: object) -> None:
        self.app = create_app(Settings(**settings))
        self.url = f"http://127.0.0.1:{free_port()}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=int(self.url.rsplit(":", 1)[1]),
                                log_config=None, access_log=False, timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> "ServedApp":
        self.thread.start()
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "uvicorn did not start"
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)

    @property
    def subscribers(self) -> int:
        return self.app.state.live.subscribers


@pytest.fixture(scope="module")
def served(database_url):
    """Start app instances (settings as keyword arguments); stopped after the module."""
    started: list[ServedApp] = []

    def serve(**settings: object) -> ServedApp:
        started.append(ServedApp(**settings).start())
        return started[-1]

    yield serve
    for app in started:
        app.stop()


@pytest.fixture(scope="module")
def pair(served) -> tuple[ServedApp, ServedApp]:
    return served(), served()


def name(prefix: str) -> str:
    """Tables are not emptied between these tests: every user is new."""
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


class Events:
    """Reads a text/event-stream response event by event; a line reader runs in the background
    so that waiting for an event can time out without ending the stream."""

    def __init__(self, response: httpx.Response) -> None:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-store"
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read(response))
        self.comments: list[str] = []
        self.retry_ms: int | None = None

    async def _read(self, response: httpx.Response) -> None:
        try:
            async for line in response.aiter_lines():
                self._lines.put_nowait(line)
        finally:
            self._lines.put_nowait(None)

    async def opened(self) -> None:
        """The stream's first line has arrived: from now on every change is pushed."""
        async with asyncio.timeout(10):
            line = await self._lines.get()
        assert line is not None and line.startswith("retry: "), line
        self.retry_ms = int(line.removeprefix("retry: "))

    async def next(self, timeout: float = 10) -> tuple[int, dict]:
        fields: dict[str, str] = {}
        async with asyncio.timeout(timeout):
            while (line := await self._lines.get()) is not None:
                if line.startswith(":"):
                    self.comments.append(line)
                elif line:
                    key, _, value = line.partition(": ")
                    fields[key] = value
                elif "data" in fields:
                    assert fields["event"] == "notification"
                    return int(fields["id"]), json.loads(fields["data"])
        self._lines.put_nowait(None)
        raise AssertionError("the stream ended")

    async def nothing_within(self, seconds: float) -> None:
        with pytest.raises(TimeoutError):
            await self.next(timeout=seconds)

    async def close(self) -> None:
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)


@asynccontextmanager
async def stream(client: httpx.AsyncClient, headers: dict, last_event_id: int | None = None):
    if last_event_id is not None:
        headers = headers | {"Last-Event-ID": str(last_event_id)}
    async with client.stream("GET", STREAM, headers=headers) as response:
        events = Events(response)
        try:
            await events.opened()
            yield events
        finally:
            await events.close()


async def new_post(client, headers) -> int:
    response = await client.post(POSTS, headers=headers, json={"body": "Vals tanda next"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_the_stream_needs_a_login_and_a_numeric_last_event_id(client):
    response = await client.get(STREAM)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 401
    headers = await factories.user(client, "streamer")
    response = await client.get(STREAM, headers=headers | {"Last-Event-ID": "yesterday"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_notification_made_through_another_instance_is_pushed_live(pair):
    here, there = pair
    ana_name = name("ana")
    async with httpx.AsyncClient(base_url=here.url, timeout=10) as near, \
            httpx.AsyncClient(base_url=there.url, timeout=10) as far:
        ana = await factories.user(near, ana_name)
        bob, cyd = await factories.user(far, name("bob")), await factories.user(far, name("cyd"))
        post_id = await new_post(near, ana)
        async with stream(near, ana) as events:
            assert events.retry_ms == 3000
            await far.post(f"{POSTS}/{post_id}/like", headers=bob)
            first_id, first = await events.next()
            assert (first["kind"], first["subject_id"], first["actor_count"]) == (
                "like", post_id, 1)
            assert first["summary"].endswith(" liked your post")

            await far.post(f"{POSTS}/{post_id}/like", headers=cyd)
            second_id, second = await events.next()
            # The same notification, joined: a new event id, the count, the latest actor.
            assert second["id"] == first["id"] and second_id > first_id
            assert second["actor_count"] == 2 and second["actors"][0].startswith("cyd_")

            await far.post(f"/api/v1/users/{ana_name}/follow", headers=bob)
            third_id, third = await events.next()
            assert third["kind"] == "follow" and third_id > second_id

        listed = (await near.get("/api/v1/notifications", headers=ana)).json()["items"]
        assert [n["id"] for n in listed] == [third["id"], first["id"]]


async def test_last_event_id_resumes_with_what_changed_meanwhile(pair):
    here, there = pair
    ana_name = name("ana")
    async with httpx.AsyncClient(base_url=here.url, timeout=10) as near, \
            httpx.AsyncClient(base_url=there.url, timeout=10) as far:
        ana = await factories.user(near, ana_name)
        fans = [await factories.user(far, name("fan")) for _ in range(3)]
        post_id = await new_post(near, ana)
        async with stream(near, ana) as events:
            await far.post(f"{POSTS}/{post_id}/like", headers=fans[0])
            seen_id, seen = await events.next()

        # Away: a follow, and a like that joins the notification already seen.
        await far.post(f"/api/v1/users/{ana_name}/follow", headers=fans[1])
        await far.post(f"{POSTS}/{post_id}/like", headers=fans[2])

        async with stream(near, ana, last_event_id=seen_id) as events:
            follow_id, follow = await events.next()
            like_id, like = await events.next()
            assert follow["kind"] == "follow" and seen_id < follow_id < like_id
            assert like["id"] == seen["id"] and like["actor_count"] == 2
            await events.nothing_within(0.5)
            last_id = like_id
        async with stream(near, ana, last_event_id=last_id) as events:
            await events.nothing_within(0.5)
            await far.post(f"{POSTS}/{await new_post(near, ana)}/like", headers=fans[1])
            pushed_id, pushed = await events.next()
            assert pushed_id > last_id and pushed["kind"] == "like"


async def test_heartbeats_keep_an_idle_stream_open_until_its_lifetime_ends(served):
    brisk = served(notifications_stream_heartbeat_seconds=0.2,
                   notifications_stream_max_seconds=1.5)
    async with httpx.AsyncClient(base_url=brisk.url, timeout=10) as client:
        headers = await factories.user(client, name("idle"))
        started = time.monotonic()
        async with stream(client, headers) as events:
            with pytest.raises(AssertionError, match="the stream ended"):
                await events.next(timeout=10)
        assert 1.4 < time.monotonic() - started < 5
        assert len(events.comments) >= 4
        assert set(events.comments) == {": heartbeat"}


async def test_a_client_that_disconnects_leaves_no_subscription(pair):
    here, _ = pair
    async with httpx.AsyncClient(base_url=here.url, timeout=10) as client:
        headers = await factories.user(client, name("brief"))
        before = here.subscribers
        async with stream(client, headers):
            assert here.subscribers == before + 1
    deadline = time.monotonic() + 5
    while here.subscribers != before:
        assert time.monotonic() < deadline, "the subscription outlived its client"
        await asyncio.sleep(0.02)


async def test_with_redis_pushes_travel_over_redis_pub_sub(served, redis_server):
    here, there = served(redis_url=redis_server.url), served(redis_url=redis_server.url)
    assert here.app.state.live.backend == there.app.state.live.backend == "redis"
    async with httpx.AsyncClient(base_url=here.url, timeout=10) as near, \
            httpx.AsyncClient(base_url=there.url, timeout=10) as far:
        ana = await factories.user(near, name("ana"))
        bob = await factories.user(far, name("bob"))
        post_id = await new_post(near, ana)
        async with stream(near, ana) as events:
            await far.post(f"{POSTS}/{post_id}/comments", headers=bob,
                           json={"body": "Beautiful tanda"})
            _, pushed = await events.next()
            assert pushed["kind"] == "comment" and pushed["subject_id"] == post_id


async def test_behind_pgbouncer_the_listener_connects_to_postgresql_itself(
        pgbouncer, database_url):  # noqa: F811
    # LISTEN through PgBouncer in transaction mode would hear nothing: its server connection
    # goes back to the pool after the LISTEN statement.
    bounced = [ServedApp(database_url=pgbouncer, database_pgbouncer=True,
                         database_listen_url=database_url).start() for _ in range(2)]
    try:
        here, there = bounced
        async with httpx.AsyncClient(base_url=here.url, timeout=10) as near, \
                httpx.AsyncClient(base_url=there.url, timeout=10) as far:
            ana = await factories.user(near, name("ana"))
            bob = await factories.user(far, name("bob"))
            post_id = await new_post(near, ana)
            async with stream(near, ana) as events:
                await far.post(f"{POSTS}/{post_id}/like", headers=bob)
                _, pushed = await events.next()
                assert pushed["kind"] == "like" and pushed["subject_id"] == post_id
    finally:
        for app in bounced:
            app.stop()


@pytest.mark.slow
async def test_pushes_cross_real_processes_and_streams_end_when_the_process_exits(
        pair, database_url, tmp_path):
    here, _ = pair
    port = free_port()
    log = tmp_path / "uvicorn.log"
    with log.open("wb") as output:
        # Plain uvicorn waits for open responses for ever on SIGTERM unless they end.
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "uvicorn", "lifeceo.app:create_app", "--factory",
            "--port", str(port), "--no-access-log",
            env=os.environ | {"LIFECEO_DATABASE_URL": database_url}, stdout=output,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=Path(__file__).parents[3])
    try:
        async with httpx.AsyncClient(base_url=here.url, timeout=10) as near, \
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as far:
            await wait_until_up(far, process, log)
            ana = await factories.user(near, name("ana"))
            bob = await factories.user(far, name("bob"))
            post_id = await new_post(near, ana)
            bob_post_id = await new_post(far, bob)
            async with stream(near, ana) as events:
                await far.post(f"{POSTS}/{post_id}/like", headers=bob)
                _, pushed = await events.next()
                assert pushed["kind"] == "like" and pushed["subject_id"] == post_id
            async with stream(far, bob) as events:
                await near.post(f"{POSTS}/{bob_post_id}/like", headers=ana)
                _, pushed = await events.next()
                assert pushed["kind"] == "like" and pushed["subject_id"] == bob_post_id

                process.send_signal(signal.SIGTERM)
                asked = time.monotonic()
                with pytest.raises(AssertionError, match="the stream ended"):
                    await events.next(timeout=10)
            # uvicorn re-raises the signal once it has shut down gracefully.
            assert await asyncio.wait_for(process.wait(), 10) in (0, -signal.SIGTERM)
            assert time.monotonic() - asked < 5, log.read_text()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def wait_until_up(client: httpx.AsyncClient, process: asyncio.subprocess.Process,
                        log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while True:
        assert process.returncode is None, log.read_text()
        try:
            if (await client.get("/api/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        await asyncio.sleep(0.1)
