"""One HTTP exchange with an ASGI application in memory: a body in, status, headers and body out."""

import asyncio
from dataclasses import dataclass, field

import structlog
from starlette.types import ASGIApp, Message, Scope

from lifeceo.platform.http.problems import PROBLEM_JSON, problem_body

log = structlog.get_logger(__name__)


@dataclass
class Exchange:
    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    started: bool = False


async def exchange(app: ASGIApp, scope: Scope, body: bytes) -> Exchange:
    """Run one request through the application; a crash becomes the 500 problem it would be."""
    result = Exchange()
    complete = asyncio.Event()
    body_sent = False

    async def receive() -> Message:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        # Nobody hangs up in memory: a response watching for a disconnect sees one only after
        # it has finished.
        await complete.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            result.started = True
            result.status = message["status"]
            result.headers = list(message.get("headers", ()))
        elif message["type"] == "http.response.body":
            result.body += message.get("body", b"")
            if not message.get("more_body", False):
                complete.set()

    # Its own task, so that the context variables the sub-request binds (its request id in the
    # log context, cleared when it ends) do not leak into the batch request's.
    task = asyncio.create_task(app(scope, receive, send))
    try:
        await task
    except Exception:
        # The application's error handler has logged it and, usually, already sent the 500.
        log.warning("sub-request failed", path=scope["path"], responded=result.started)
        if not result.started:
            result.status = 500
            result.headers = [(b"content-type", PROBLEM_JSON.encode())]
            result.body = bytearray(problem_body(500, instance=scope["path"]))
    finally:
        complete.set()
    return result
