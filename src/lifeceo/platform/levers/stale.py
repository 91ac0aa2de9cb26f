"""The lever `stale`: degraded mode for an overloaded route class. A signed-in GET of a read
whose anonymous answer is the same for everyone and that names a stale class (the cache
policy's table, httpcache.policy.PUBLIC_READS) is answered as an anonymous one, whole from the
cache, as Discourse serves logged-in users the anonymous page under load.

The anonymous answer is used only where it is a success (200, or 304 to the client's copy): a
private post the anonymous answer would 404 is then served to its owner as usual. A degraded
answer says so (X-Lifeceo-Degraded) and is private, so no shared cache keeps a signed-in user's
copy as if it were the public one."""

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lifeceo.errors import Unprocessable
from lifeceo.platform.httpcache.headers import replaced
from lifeceo.platform.httpcache.policy import (
    PRIVATE,
    PUBLIC_READS,
    PublicRead,
    carries_credentials,
)

ON, OFF = "on", "off"
DEGRADED_HEADER = b"x-lifeceo-degraded"
# A 304 confirms the client's copy of the anonymous answer, which it was given degraded before.
SERVED_STATUSES = frozenset({200, 304})
SAFE_METHODS = frozenset({"GET", "HEAD"})
# The anonymous answer's entity tags are for shared caches, and a visitor cookie set for an
# anonymous caller is not this signed-in user's.
DROPPED_HEADERS = (b"surrogate-key", b"xkey", b"set-cookie")


@dataclass
class StaleClass:
    name: str
    paths: list[re.Pattern[str]] = field(default_factory=list)
    # Wall-clock time the lever's "on" lasts until; 0: off.
    on_until: float = 0.0
    served: int = 0
    fell_back: int = 0

    @property
    def enabled(self) -> bool:
        return self.on_until > time.time()

    def matches(self, path: str) -> bool:
        return any(pattern.match(path) is not None for pattern in self.paths)


class StaleReads:
    """The lever `stale`: target a route class the cache policy's table names, value on or
    off."""

    name = "stale"

    def __init__(self, *, session_cookie: str,
                 reads: Iterable[PublicRead] = PUBLIC_READS) -> None:
        self.session_cookie = session_cookie
        self.classes: dict[str, StaleClass] = {}
        for read in reads:
            if read.stale is not None:
                self.classes.setdefault(read.stale, StaleClass(read.stale)).paths.append(
                    read.path)

    def check(self, target: str, value: str) -> str:
        if target not in self.classes:
            raise Unprocessable(f"No route class {target!r} serves stale; the classes are "
                                f"{sorted(self.classes)}.")
        if value not in (ON, OFF):
            raise Unprocessable("The stale lever's value is 'on' or 'off'.")
        return value

    def apply(self, target: str, value: str, until: float) -> None:
        if target in self.classes:
            self.classes[target].on_until = until if value == ON else 0.0

    def release(self, target: str) -> None:
        if target in self.classes:
            self.classes[target].on_until = 0.0

    def state(self) -> dict:
        return {stale.name: {"enabled": stale.enabled, "routes": len(stale.paths),
                             "served": stale.served, "fell_back": stale.fell_back}
                for stale in self.classes.values()}

    def degraded_class(self, scope: Scope) -> StaleClass | None:
        """The enabled class of a signed-in GET of a read in it, else None."""
        if scope["type"] != "http" or scope["method"] not in SAFE_METHODS:
            return None
        enabled = [stale for stale in self.classes.values() if stale.enabled]
        if not enabled or not carries_credentials(scope["headers"], self.session_cookie):
            return None
        for stale in enabled:
            if stale.matches(scope["path"]):
                return stale
        return None

    def anonymous(self, scope: Scope) -> Scope:
        """The request without its credentials: no Authorization, no session cookie."""
        headers = []
        for key, value in scope["headers"]:
            if key == b"authorization":
                continue
            if key == b"cookie":
                kept = [part for part in value.decode("latin-1").split(";")
                        if part.partition("=")[0].strip() != self.session_cookie]
                if not any(part.strip() for part in kept):
                    continue
                value = ";".join(kept).strip().encode("latin-1")
            headers.append((key, value))
        return {**scope, "headers": headers}


class StaleReadsMiddleware:
    """Runs a degraded request anonymously first; sends that answer marked, or, where it is not
    a success, drops it and runs the request as it came."""

    def __init__(self, app: ASGIApp, *, stale: StaleReads) -> None:
        self.app = app
        self.stale = stale

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        degraded = self.stale.degraded_class(scope)
        if degraded is None:
            await self.app(scope, receive, send)
            return
        served = False

        async def send_anonymous(message: Message) -> None:
            nonlocal served
            if message["type"] == "http.response.start":
                served = message["status"] in SERVED_STATUSES
                if served:
                    message = _marked(message)
            if served:
                await send(message)

        # A GET's routes read no body, so neither run takes anything from `receive`.
        await self.app(self.stale.anonymous(scope), receive, send_anonymous)
        if served:
            degraded.served += 1
            return
        degraded.fell_back += 1
        await self.app(scope, receive, send)


def _marked(start: Message) -> Message:
    headers = list(start.get("headers", ()))
    for name in DROPPED_HEADERS:
        headers = replaced(headers, name, None)
    headers = replaced(headers, b"cache-control", PRIVATE)
    headers = replaced(headers, DEGRADED_HEADER, "stale")
    return {**start, "headers": headers}
