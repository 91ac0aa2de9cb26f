"""brotli or gzip for compressible responses above a size threshold, as pure ASGI middleware."""

import gzip
import re
import zlib
from collections.abc import Callable

import brotli
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lifeceo.platform.httpcache.headers import header, replaced, with_vary

# Both are deterministic for equal input (gzip with a zero mtime), so a strong ETag derived from
# the identity tag still names exactly one byte sequence. Brotli 4 compresses JSON better than
# gzip 6 at about the same CPU; the higher qualities are for static assets, not per request.
BROTLI_QUALITY = 4
GZIP_LEVEL = 6
# Tie-breaking order: brotli is smaller at equal q.
CODINGS = ("br", "gzip")
COMPRESSIBLE = re.compile(
    r"^(text/[a-z0-9.+-]+|application/(json|[a-z0-9.-]+\+json|javascript|ecmascript)"
    r"|image/svg\+xml)$")
ENTITY_TAG = re.compile(r'(W/)?"([^"]*)"')


def negotiate(accept_encoding: str | None) -> str | None:
    """The coding the client prefers among ours (RFC 9110 12.5.3): highest q, q=0 refuses."""
    if not accept_encoding:
        return None
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        coding, *parameters = (part.strip() for part in item.split(";"))
        weight = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        coding = coding.lower()
        weights["gzip" if coding == "x-gzip" else coding] = weight
    chosen, best = None, 0.0
    for coding in CODINGS:
        weight = weights.get(coding, weights.get("*", 0.0))
        if weight > best:
            chosen, best = coding, weight
    return chosen


def is_compressible(content_type: str | None) -> bool:
    return bool(COMPRESSIBLE.match((content_type or "").split(";", 1)[0].strip().lower()))


def encoded_etag(etag: str, coding: str) -> str:
    """The tag of the encoded representation: different bytes need a different strong tag."""
    return ENTITY_TAG.sub(lambda match: f'{match[1] or ""}"{match[2]}-{coding}"', etag, count=1)


def identity_if_none_match(if_none_match: str, coding: str) -> tuple[str, bool]:
    """The header with our coding's suffix removed from its tags, so that the inner ETag check
    compares identity tags; and whether any tag had the suffix."""
    suffix = f'-{coding}"'
    stripped = False

    def strip(match: re.Match[str]) -> str:
        nonlocal stripped
        if match[0].endswith(suffix):
            stripped = True
            return match[0].removesuffix(suffix) + '"'
        return match[0]

    return ENTITY_TAG.sub(strip, if_none_match), stripped


class _Encoder:
    def __init__(self, coding: str) -> None:
        self.coding = coding
        if coding == "br":
            self._brotli = brotli.Compressor(quality=BROTLI_QUALITY)
        else:
            # wbits 31: a gzip container; its header carries mtime 0.
            self._zlib = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)

    def chunk(self, data: bytes) -> bytes:
        """Compressed bytes for data, flushed so that a streamed chunk reaches the client."""
        if self.coding == "br":
            return self._brotli.process(data) + self._brotli.flush()
        return self._zlib.compress(data) + self._zlib.flush(zlib.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        return self._brotli.finish() if self.coding == "br" else self._zlib.flush()


def compress(data: bytes, coding: str) -> bytes:
    if coding == "br":
        return brotli.compress(data, quality=BROTLI_QUALITY)
    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


class CompressionMiddleware:
    """Compresses with the client's preferred coding when the body is at least min_bytes of a
    compressible type; ETags of encoded responses get a -br or -gzip suffix."""

    def __init__(self, app: ASGIApp, *, min_bytes: int,
                 enabled: Callable[[], bool] | None = None) -> None:
        """`enabled`, asked per request, switches compression at runtime (a feature flag)."""
        self.app = app
        self.min_bytes = min_bytes
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.enabled is not None and not self.enabled()):
            await self.app(scope, receive, send)
            return
        coding = negotiate(header(scope["headers"], b"accept-encoding"))
        if_none_match = header(scope["headers"], b"if-none-match")
        stripped = False
        if coding is not None and if_none_match is not None:
            identity, stripped = identity_if_none_match(if_none_match, coding)
            if stripped:
                scope = {**scope, "headers": replaced(scope["headers"], b"if-none-match",
                                                      identity)}
        held: Message | None = None
        encoder: _Encoder | None = None

        async def send_compressed(message: Message) -> None:
            nonlocal held, encoder
            if message["type"] == "http.response.start":
                message = self._vary(message)
                if message["status"] == 304 and stripped:
                    # The client's copy is the encoded one it named; confirm that tag.
                    etag = header(message["headers"], b"etag")
                    if etag is not None:
                        message["headers"] = replaced(message["headers"], b"etag",
                                                      encoded_etag(etag, coding))
                if coding is not None and self._eligible(message):
                    held = message
                    return
                await send(message)
                return
            if message["type"] != "http.response.body" or (held is None and encoder is None):
                if held is not None:
                    start, held = held, None
                    await send(start)
                await send(message)
                return
            body = message.get("body", b"")
            more = message.get("more_body", False)
            if encoder is not None:
                data = encoder.chunk(body) if more else encoder.chunk(body) + encoder.finish()
                await send({**message, "body": data})
                return
            start, held = held, None
            if not more:
                if len(body) < self.min_bytes:
                    await send(start)
                    await send(message)
                    return
                body = compress(body, coding)
                await send(self._encoded(start, coding, len(body)))
                await send({**message, "body": body})
                return
            encoder = _Encoder(coding)
            await send(self._encoded(start, coding, None))
            await send({**message, "body": encoder.chunk(body)})

        await self.app(scope, receive, send_compressed)

    def _eligible(self, start: Message) -> bool:
        headers = start.get("headers", ())
        if start["status"] < 200 or start["status"] in (204, 304):
            return False
        if header(headers, b"content-encoding") or header(headers, b"content-range"):
            return False
        if not is_compressible(header(headers, b"content-type")):
            return False
        declared = header(headers, b"content-length")
        return declared is None or not declared.isdigit() or int(declared) >= self.min_bytes

    @staticmethod
    def _vary(start: Message) -> Message:
        headers = start.get("headers", ())
        # Whether this resource is compressed depends on Accept-Encoding even when this one
        # response is not (too small), so caches must key on it. A 304 has no type: it repeats
        # the Vary that the cache policy gave the 200, which names Accept-Encoding already.
        if is_compressible(header(headers, b"content-type")):
            return {**start, "headers": with_vary(headers, "Accept-Encoding")}
        return start

    @staticmethod
    def _encoded(start: Message, coding: str, length: int | None) -> Message:
        headers = replaced(start["headers"], b"content-encoding", coding)
        headers = replaced(headers, b"content-length", None if length is None else str(length))
        etag = header(headers, b"etag")
        if etag is not None:
            headers = replaced(headers, b"etag", encoded_etag(etag, coding))
        return {**start, "headers": headers}
