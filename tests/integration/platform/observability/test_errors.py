"""Sentry as a real client sends it: the DSN points at an HTTP receiver started by the test, and
the envelopes that arrive are read."""

import gzip
import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import brotli
import httpx
import pytest
import sentry_sdk
from fastapi import FastAPI, Request
from sqlalchemy import select
from tests import factories
from tests.waiting import eventually

from lifeceo.app import create_app
from lifeceo.community.users.dependencies import CurrentUser
from lifeceo.community.users.models import User
from lifeceo.platform.observability.errors import shutdown_error_reporting
from lifeceo.platform.queue import enqueue, job
from lifeceo.settings import Settings

RELEASE = "lifeceo@test-release"
EMAIL = "ana.secret@example.org"
PASSWORD = "Sup3r-Secret-pw-77"
CSRF = "csrf-value-0123456789"


@job("observability-test-fail", queue="email")
async def failing_job(ctx, *, n: int) -> None:
    raise ValueError(f"job {n} failed")


@dataclass
class Receiver:
    """What a Sentry server would have received: each envelope's decompressed bytes."""

    port: int
    bodies: list[bytes] = field(default_factory=list)

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.port}/42"

    async def arrived(self, count: int) -> bool:
        return len(self.events()) == count

    def events(self) -> list[dict[str, Any]]:
        found = []
        for body in self.bodies:
            for line in body.splitlines():
                try:
                    item = json.loads(line)
                except ValueError:
                    continue
                if isinstance(item, dict) and "exception" in item:
                    found.append(item)
        return found


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    bodies: list[bytes] = []

    class Envelope(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            encoding = self.headers.get("content-encoding")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "br":
                body = brotli.decompress(body)
            if self.path == "/api/42/envelope/":
                bodies.append(body)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Envelope)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Receiver(server.server_address[1], bodies)
    server.shutdown()
    server.server_close()


async def explode(request: Request, user: CurrentUser):
    """What a careless handler looks like: credentials in its locals and in its message."""
    body = await request.json()
    email, password = body["email"], body["password"]
    token = request.headers["authorization"].partition(" ")[2]
    cookie = request.headers["cookie"]
    raise RuntimeError(f"charging {email} failed (password={password}, token {token}, "
                       f"cookie {cookie})")


@pytest.fixture
async def reporting(app, receiver) -> AsyncIterator[FastAPI]:
    """An application reporting to the receiver, with a route that fails (this test's only)."""
    application = create_app(Settings(sentry_dsn=receiver.dsn, sentry_release=RELEASE))
    application.add_api_route("/api/v1/test/explode", explode, methods=["POST"])
    try:
        async with application.router.lifespan_context(application):
            yield application
    finally:
        shutdown_error_reporting()


def _client(app: FastAPI) -> httpx.AsyncClient:
    # The 500 as a client gets it, rather than the exception re-raised into the test.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_an_unhandled_error_arrives_with_its_context_and_without_credentials(
        reporting, receiver, session):
    async with _client(reporting) as http:
        headers = await factories.user(http, "payer")
        token = headers["Authorization"].split()[1]
        session_cookie = f"session-cookie-{token[::-1]}"
        response = await http.post(
            "/api/v1/test/explode", json={"email": EMAIL, "password": PASSWORD},
            headers={**headers, "X-Request-ID": "boom-1",
                     "Cookie": f"lifeceo_session={session_cookie}; lifeceo_csrf={CSRF}"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    sentry_sdk.flush(timeout=5)
    await eventually(lambda: receiver.arrived(1))

    [event] = receiver.events()
    [exception] = event["exception"]["values"]
    assert exception["type"] == "RuntimeError"
    assert event["release"] == RELEASE and event["environment"] == "test"
    assert event["tags"]["request_id"] == "boom-1"
    user_id = await session.scalar(select(User.id).where(User.username == "payer"))
    assert event["user"] == {"id": str(user_id)}
    assert event["request"]["method"] == "POST"
    assert event["request"]["url"].endswith("/api/v1/test/explode")
    assert event["transaction"] == "POST /api/v1/test/explode"  # the route template
    assert event["exception"]["values"][0]["value"].startswith("charging [email] failed")
    # The handler's frame is there, its locals too, with their values filtered.
    frames = exception["stacktrace"]["frames"]
    explode_frame = next(frame for frame in frames if frame["function"] == "explode")
    assert explode_frame["vars"]["password"] == "[Filtered]"
    assert explode_frame["vars"]["token"] == "[Filtered]"
    everything = b"".join(receiver.bodies).decode()
    for secret in (EMAIL, PASSWORD, token, session_cookie, CSRF, factories.PASSWORD,
                   "payer@example.org"):
        assert secret not in everything


async def test_client_errors_send_nothing(reporting, receiver):
    async with _client(reporting) as http:
        headers = await factories.user(http, "client")
        answers = [
            await http.get("/api/v1/posts/999999", headers=headers),             # 404
            await http.post("/api/v1/posts", json={"body": 5}, headers=headers),  # 422
            await http.post("/api/v1/posts", content=b"{", headers={
                **headers, "content-type": "application/json"}),                # 400
            await http.post("/api/v1/test/explode", json={}),                  # 401
        ]
    assert [answer.status_code for answer in answers] == [404, 422, 400, 401]
    sentry_sdk.flush(timeout=5)
    assert receiver.bodies == []


async def test_a_failed_job_arrives_with_its_name_and_queue(reporting, receiver):
    async with reporting.state.sessionmaker() as db:
        await enqueue(db, "observability-test-fail", n=3)
        await db.commit()  # inline: the job runs (and fails) here, the commit stands
    sentry_sdk.flush(timeout=5)
    await eventually(lambda: receiver.arrived(1))
    [event] = receiver.events()
    assert event["exception"]["values"][0]["type"] == "ValueError"
    assert event["tags"]["job"] == "observability-test-fail"
    assert event["tags"]["queue"] == "email"
    assert event["release"] == RELEASE
