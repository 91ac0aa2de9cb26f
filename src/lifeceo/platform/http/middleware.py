"""Pure ASGI middleware (BaseHTTPMiddleware would break contextvars): request ids, access log,
body size limits."""

import asyncio
import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lifeceo.platform.http.problems import PROBLEM_JSON, problem_body

access_log = structlog.get_logger("lifeceo.access")
REQUEST_ID_HEADER = b"x-request-id"
# Accept a caller's id only if it is short and cannot smuggle anything into a log line.
SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def header(scope: Scope, name: bytes) -> str | None:
    """The request's header `name` (lower-case bytes), the first if repeated."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class RequestContextMiddleware:
    """Binds a request id (the caller's X-Request-ID or a new one) to every log line and echoes it;
    writes one access-log line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = header(scope, REQUEST_ID_HEADER)
        request_id = offered if offered and SAFE_REQUEST_ID.match(offered) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", ()) if k != REQUEST_ID_HEADER]
                headers.append((REQUEST_ID_HEADER, request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            access_log.info(
                "request", method=scope["method"], path=scope["path"], status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
        # Not on an unhandled error: the handler further out that logs it then needs the ids
        # (the request's task ends there, and the next request starts by clearing them).
        structlog.contextvars.clear_contextvars()


class BodyLimitMiddleware:
    """Rejects bodies over the limit with 413 before the application reads them; `overrides` maps a
    path prefix to a larger limit (uploads).

    The rest of an oversized body is read and discarded first, up to `drain_bytes` and for at most
    `drain_seconds`: clients (urllib, httpx, browsers) send the whole body before they read, and a
    socket closed with unread data is reset, which loses the 413 (urllib got 0 of 20 for a 5 MB
    JSON body: 17 resets, 3 broken pipes). Drained, the connection even stays open; past the
    bounds it is closed."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, overrides: dict[str, int],
                 drain_bytes: int, drain_seconds: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = overrides
        self.drain_bytes = drain_bytes
        self.drain_seconds = drain_seconds

    def _limit(self, path: str) -> int:
        for prefix, limit in self.overrides.items():
            if path.startswith(prefix):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"])
        declared = header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            # A client waiting for "100 Continue" has not sent the body and will not: answer now.
            # Asking for the body (receive) would send it the "100 Continue".
            drained = (declared.isdigit() and int(declared) <= self.drain_bytes
                       and header(scope, b"expect") is None and await self._drain(receive, 0))
            await self._reject(scope, send, limit, drained=drained)
            return
        # Read the body here, bounded, so that a chunked upload cannot exceed the limit either.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            more = message.get("more_body", False)
            if size > limit:
                drained = not more or await self._drain(receive, size)
                await self._reject(scope, send, limit, drained=drained)
                return
            chunks.append(chunk)
            if not more:
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _drain(self, receive: Receive, received: int) -> bool:
        """Read and drop the rest of the body; whether it ended within the drain bounds."""
        try:
            async with asyncio.timeout(self.drain_seconds):
                while received <= self.drain_bytes:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return False
                    received += len(message.get("body", b""))
                    if not message.get("more_body", False):
                        return received <= self.drain_bytes
        except TimeoutError:
            pass
        return False

    @staticmethod
    async def _reject(scope: Scope, send: Send, limit: int, *, drained: bool) -> None:
        body = problem_body(413, detail=f"The request body exceeds {limit} bytes.",
                            instance=scope["path"], max_bytes=limit)
        headers = [(b"content-type", PROBLEM_JSON.encode()),
                   (b"content-length", str(len(body)).encode())]
        if not drained:
            # The unread rest would be taken for the next request.
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
