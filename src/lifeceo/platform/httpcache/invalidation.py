"""Purge on write: after a successful POST, PUT, PATCH or DELETE, the surrogate keys of what it
changed are purged from Varnish, derived from the path (and the few bodies that name an owner)
plus whatever the handler passed to add_surrogate_keys."""

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lifeceo.platform.httpcache.policy import API, ID, NAME
from lifeceo.platform.httpcache.surrogate import VarnishPurger, collecting_surrogate_keys

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# How long a write's response waits for its purge before it is released anyway. A purge on the
# same host or LAN takes about a millisecond, so normally anonymous readers see the write as soon
# as the writer does; a slow Varnish costs a write at most this, and a failing one nothing.
PURGE_WAIT_SECONDS = 0.25
# Bodies read for an owner's name are single resources of a few kilobytes.
MAX_BODY_BYTES = 256 * 1024


def _author(body: dict) -> str | None:
    return (body.get("author") or {}).get("username")


def _username(body: dict) -> str | None:
    return body.get("username")


@dataclass(frozen=True)
class Write:
    methods: frozenset[str]
    path: re.Pattern[str]
    keys: tuple[str, ...]
    # The author of a new post is not in its path: read it from the response.
    owner: Callable[[dict], str | None] | None = None

    def keys_for(self, match: re.Match[str], body: bytes | None) -> set[str]:
        keys = {key.format(**match.groupdict()).lower() for key in self.keys}
        if self.owner is not None and body:
            try:
                owner = self.owner(orjson.loads(body))
            except (orjson.JSONDecodeError, AttributeError, TypeError):
                owner = None
            if isinstance(owner, str) and re.fullmatch(NAME, owner):
                keys.add(f"user:{owner.lower()}")
        return keys


def _write(methods: str, path: str, *keys: str,
           owner: Callable[[dict], str | None] | None = None) -> Write:
    return Write(frozenset(methods.split()), re.compile(f"^{API}{path}$"), keys, owner)


POST_CHANGED = ("post:{id}", "feed:public")
EVENT_CHANGED = ("event:{id}", "events")
WRITES = (
    _write("POST", "/posts", "feed:public", owner=_author),
    _write("PATCH DELETE", f"/posts/{ID}", *POST_CHANGED),
    _write("POST DELETE", f"/posts/{ID}/like", *POST_CHANGED),
    _write("POST", f"/posts/{ID}/comments", *POST_CHANGED),
    _write("DELETE", f"/posts/{ID}/comments/[0-9]+", *POST_CHANGED),
    # A new name or bio shows on the profile and beside every post in the public feed.
    _write("PATCH", "/me", "feed:public", owner=_username),
    _write("PATCH", f"/users/{NAME}/admin", "user:{username}"),
    _write("POST DELETE", f"/users/{NAME}/follow", "user:{username}"),
    _write("POST", "/events", "events"),
    _write("PATCH", f"/events/{ID}", *EVENT_CHANGED),
    _write("POST", f"/events/{ID}/cancel", *EVENT_CHANGED),
    _write("POST DELETE", f"/events/{ID}/rsvp", *EVENT_CHANGED),
    _write("DELETE", f"/media/{ID}", "media:{id}"),
)


def write_route(method: str, path: str) -> tuple[Write, re.Match[str]] | None:
    for route in WRITES:
        match = route.path.match(path)
        if match and method in route.methods:
            return route, match
    return None


class PurgeOnWriteMiddleware:
    """Purges what a successful write changed, before its response is released to the client
    when Varnish answers quickly, in the background otherwise; never fails the request."""

    def __init__(self, app: ASGIApp, *, purger: VarnishPurger | None,
                 purge_wait_seconds: float = PURGE_WAIT_SECONDS) -> None:
        self.app = app
        self.purger = purger
        self.purge_wait_seconds = purge_wait_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.purger is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self.app(scope, receive, self._closing_on_shutdown(send))
        elif scope["type"] == "http" and scope["method"] in UNSAFE_METHODS:
            await self._write(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _write(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = write_route(scope["method"], scope["path"])
        status = 0
        # The status line waits with the first body message: a client reading a 204 is done at
        # the headers, and must not be done before the purge.
        held: Message | None = None
        body: list[bytes] = []
        size = 0
        with collecting_surrogate_keys() as added:

            async def send_after_purge(message: Message) -> None:
                nonlocal status, held, size
                if message["type"] == "http.response.start":
                    status, held = message["status"], message
                    return
                if message["type"] == "http.response.body" and 200 <= status < 300:
                    if route is not None and route[0].owner is not None and size < MAX_BODY_BYTES:
                        body.append(message.get("body", b""))
                        size += len(body[-1])
                    if not message.get("more_body", False):
                        # The request's transaction committed before its response started.
                        await self._purge(added, route, b"".join(body))
                if held is not None:
                    await send(held)
                    held = None
                await send(message)

            await self.app(scope, receive, send_after_purge)

    async def _purge(self, added: set[str], route: tuple[Write, re.Match[str]] | None,
                     body: bytes) -> None:
        keys = set(added)
        if route is not None:
            keys |= route[0].keys_for(route[1], body)
        task = self.purger.purge(keys)
        if task is not None and self.purger.healthy:
            await asyncio.wait({task}, timeout=self.purge_wait_seconds)

    def _closing_on_shutdown(self, send: Send) -> Send:
        async def send_closing(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                await self.purger.aclose()
            await send(message)

        return send_closing
