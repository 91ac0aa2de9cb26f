"""Strong ETags for JSON responses and 304 Not Modified for a matching If-None-Match (RFC 9110)."""

import hashlib
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lifeceo.platform.httpcache.headers import header, replaced

# The application renders whole bodies in one message; only a streamed body can be larger, and
# holding a megabyte per request is the most we spend on tagging one.
MAX_BUFFER_BYTES = 1024 * 1024
# An entity tag may contain commas, so a list is split on its quoted tags, not on commas.
ENTITY_TAG = re.compile(r'(?:W/)?"[^"]*"|\*')
# RFC 9110 15.4.5: a 304 carries the fields the 200 would have that a cache needs to update its
# stored copy; the representation's own fields (type, length) are left out.
NOT_MODIFIED_FIELDS = frozenset({
    b"cache-control", b"content-location", b"date", b"etag", b"expires", b"vary",
    b"surrogate-key", b"xkey",
})


def strong_etag(body: bytes) -> str:
    """A strong entity tag: equal bodies, and only equal bodies, get the same tag."""
    return f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'


def is_json(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json"))


def none_match(if_none_match: str, etag: str) -> bool:
    """Whether If-None-Match names the tag, by weak comparison (RFC 9110 13.1.2: W/ ignored)."""
    current = etag.removeprefix("W/")
    return any(offered == "*" or offered.removeprefix("W/") == current
               for offered in ENTITY_TAG.findall(if_none_match))


class ETagMiddleware:
    """Tags 200 JSON responses to GET and HEAD that have no ETag yet, and answers 304 when the
    client's copy is current. Must sit outside whatever sets Cache-Control and Vary: the 304
    repeats them."""

    def __init__(self, app: ASGIApp, *, max_buffer_bytes: int = MAX_BUFFER_BYTES) -> None:
        self.app = app
        self.max_buffer_bytes = max_buffer_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        if_none_match = header(scope["headers"], b"if-none-match")
        held: Message | None = None
        chunks: list[bytes] = []
        size = 0

        async def flush_held() -> None:
            nonlocal held
            await send(held)
            held = None
            if chunks:
                await send({"type": "http.response.body", "body": b"".join(chunks),
                            "more_body": True})
                chunks.clear()

        async def send_tagged(message: Message) -> None:
            nonlocal held, size
            if message["type"] == "http.response.start" and _taggable(message):
                held = message
                return
            if held is None:
                await send(message)
                return
            if message["type"] != "http.response.body":
                await flush_held()
                await send(message)
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if message.get("more_body", False):
                if size > self.max_buffer_bytes:
                    await flush_held()
                return
            body = b"".join(chunks)
            etag = strong_etag(body)
            start, held = held, None
            headers = replaced(start["headers"], b"etag", etag)
            if if_none_match is not None and none_match(if_none_match, etag):
                await send({**start, "status": 304, "headers": [
                    (key, value) for key, value in headers if key in NOT_MODIFIED_FIELDS]})
                await send({"type": "http.response.body", "body": b""})
                return
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, send_tagged)


def _taggable(start: Message) -> bool:
    headers = start.get("headers", ())
    return (start["status"] == 200 and header(headers, b"etag") is None
            and header(headers, b"content-encoding") is None
            and is_json(header(headers, b"content-type")))
