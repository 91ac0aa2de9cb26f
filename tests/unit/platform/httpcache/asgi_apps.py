"""Tiny ASGI applications that answer with exactly the messages a test describes."""

import httpx
from starlette.types import Receive, Scope, Send


def responding(body: bytes = b"", *, status: int = 200, content_type: str = "application/json",
               headers: dict[str, str] | None = None, chunks: list[bytes] | None = None,
               seen: list[Scope] | None = None):
    """An app that sends body (or chunks, as a stream) with these headers; records scopes."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if seen is not None:
            seen.append(scope)
        raw = [(b"content-type", content_type.encode())]
        if chunks is None:
            raw.append((b"content-length", str(len(body)).encode()))
        raw += [(key.lower().encode(), value.encode()) for key, value in (headers or {}).items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        if chunks is None:
            await send({"type": "http.response.body", "body": body})
            return
        for index, chunk in enumerate(chunks):
            await send({"type": "http.response.body", "body": chunk,
                        "more_body": index < len(chunks) - 1})

    return app


def client_of(app) -> httpx.AsyncClient:
    # No default Accept-Encoding: each test says what its client accepts.
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
    del http.headers["accept-encoding"]
    return http
