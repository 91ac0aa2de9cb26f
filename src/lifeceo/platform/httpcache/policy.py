"""Cache-Control, Vary and surrogate keys per route, decided from one table without touching the
endpoints: anonymous public reads may be shared, anything personal may not."""

import re
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lifeceo.platform.httpcache.headers import header, replaced, with_vary
from lifeceo.platform.httpcache.surrogate import collecting_surrogate_keys, header_values
from lifeceo.settings import Settings

API = "/api/v1"
NAME = r"(?P<username>[A-Za-z0-9_]{3,30})"
ID = r"(?P<id>[0-9]{1,18})"
NO_STORE = "no-store"
# The browser may keep it but must ask again (an ETag makes that a cheap 304); no shared cache.
PRIVATE = "private, no-cache"
# Responses depend on who asks (liked_by_me, visibility) and are compressed per client.
VARY = ("Authorization", "Cookie", "Accept-Encoding")
SAFE_METHODS = frozenset({"GET", "HEAD"})
# Sessions, credentials and personal inboxes are never stored, not even by the browser.
NEVER_STORED = re.compile(rf"^({API}/(me|auth|notifications)|/api/health)(/|$)")


@dataclass(frozen=True)
class PublicRead:
    """A GET route whose anonymous answer is the same for every caller: where `shared`, any
    cache may keep its 200s, tagged with these keys; where it names a `stale` class, the stale
    lever may answer a signed-in read with it (correct, if less personal) under load."""

    path: re.Pattern[str]
    keys: tuple[str, ...]
    stale: str | None = None
    shared: bool = True

    def keys_for(self, match: re.Match[str]) -> set[str]:
        # Usernames are case-insensitive: /users/Ana and /users/ana are both user:ana.
        return {key.format(**match.groupdict()).lower() for key in self.keys}


def _read(path: str, *keys: str, stale: str | None = None, shared: bool = True) -> PublicRead:
    return PublicRead(re.compile(f"^{API}{path}$"), keys, stale, shared)


PUBLIC_READS = (
    _read("/feed/public", "feed:public", stale="feed"),
    # Recomputed hourly by a job, which purges nothing: max-age alone bounds its staleness.
    _read("/feed/trending", "feed:trending", stale="feed"),
    _read(f"/posts/{ID}", "post:{id}", stale="posts"),
    _read(f"/posts/{ID}/comments", "post:{id}", stale="posts"),
    _read(f"/users/{NAME}", "user:{username}"),
    _read(f"/users/{NAME}/(posts|followers|following)", "user:{username}"),
    _read("/events", "events", stale="events"),
    _read(f"/events/{ID}", "event:{id}", stale="events"),
    _read(f"/events/{ID}/attendees", "event:{id}"),
    # Unless the route says private: media only a post's followers or its owner may read.
    _read(f"/media/{ID}", "media:{id}"),
    # Set their own Cache-Control (immutable, or private); kept, only tagged.
    _read(f"/media/{ID}/content", "media:{id}"),
    _read(f"/media/{ID}/variants/[^/]+", "media:{id}"),
    # The same for every anonymous caller, but kept by no shared cache: no key names what a
    # result shows, so no write could purge it.
    _read("/search", stale="search", shared=False),
)


def public_read(path: str) -> tuple[PublicRead, re.Match[str]] | None:
    """The read shared caches may keep, and its match; None where there is none."""
    for route in PUBLIC_READS:
        match = route.path.match(path) if route.shared else None
        if match:
            return route, match
    return None


def carries_credentials(headers: list[tuple[bytes, bytes]], session_cookie: str) -> bool:
    """Whether the request carries credentials: a Bearer token or the session cookie."""
    if header(headers, b"authorization") is not None:
        return True
    # Starlette's parser, because it is the one that authenticates the request: the stricter
    # http.cookies gives up on a malformed neighbour and would miss the session cookie.
    return any(key == b"cookie" and session_cookie in cookie_parser(value.decode("latin-1"))
               for key, value in headers)


@dataclass(frozen=True)
class CachePolicy:
    public: str
    session_cookie: str

    @classmethod
    def from_settings(cls, settings: Settings, *, session_cookie: str) -> "CachePolicy":
        public = (f"public, max-age={settings.http_public_max_age_seconds}, "
                  f"stale-while-revalidate={settings.http_stale_while_revalidate_seconds}, "
                  f"stale-if-error={settings.http_stale_if_error_seconds}")
        return cls(public=public, session_cookie=session_cookie)

    def is_personal(self, headers: list[tuple[bytes, bytes]]) -> bool:
        """Whether the request carries credentials: a Bearer token or the session cookie."""
        return carries_credentials(headers, self.session_cookie)

    def decide(self, *, method: str, path: str, status: int,
               personal: bool) -> tuple[str, tuple[str, ...]]:
        """Cache-Control and the Vary fields for a response the route left undecided."""
        if method not in SAFE_METHODS or NEVER_STORED.match(path):
            return NO_STORE, ()
        if personal:
            return PRIVATE, VARY
        if public_read(path) is None:
            return PRIVATE, VARY
        # A 404 may become a 200 any moment (ids are sequential) and an error must not outlive
        # its cause, so only successes are shared.
        return (self.public, VARY) if status == 200 else (NO_STORE, ())


class CachePolicyMiddleware:
    """Adds Cache-Control and Vary unless the route set Cache-Control itself, and Surrogate-Key and
    xkey headers naming the entities of a read: the route table's keys plus add_surrogate_keys."""

    def __init__(self, app: ASGIApp, *, policy: CachePolicy,
                 shared: Callable[[], bool] | None = None) -> None:
        """`shared`, asked per request, switches shared caching at runtime (a feature flag):
        while it says no, public reads are private like personal ones and carry no keys."""
        self.app = app
        self.policy = policy
        self.shared = shared

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        if self.shared is not None and not self.shared():
            await self.app(scope, receive, self._sender(send, method, path, True, set()))
            return
        personal = self.policy.is_personal(scope["headers"])
        if method not in SAFE_METHODS:
            # Keys a write adds are collected by the purge middleware, not here.
            await self.app(scope, receive, self._sender(send, method, path, personal, set()))
            return
        with collecting_surrogate_keys() as keys:
            route = public_read(path)
            if route is not None:
                keys.update(route[0].keys_for(route[1]))
            await self.app(scope, receive, self._sender(send, method, path, personal, keys))

    def _sender(self, send: Send, method: str, path: str, personal: bool, keys: set[str]) -> Send:
        async def send_with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = self._apply(message, method=method, path=path, personal=personal,
                                      keys=keys)
            await send(message)

        return send_with_policy

    def _apply(self, start: Message, *, method: str, path: str, personal: bool,
               keys: set[str]) -> Message:
        headers = list(start.get("headers", ()))
        values = header_values(keys)
        if len(values) > 1:
            # Too many keys for one header: the response could not be purged reliably.
            values = []
        cache_control = header(headers, b"cache-control")
        if cache_control is None:
            cache_control, vary = self.policy.decide(method=method, path=path,
                                                     status=start["status"], personal=personal)
            if cache_control == self.policy.public and not values:
                cache_control = PRIVATE
            headers = replaced(headers, b"cache-control", cache_control)
            if vary:
                headers = with_vary(headers, *vary)
        if not cache_control.startswith("public"):
            # Keys are for shared caches; a private answer must not even say what it shows.
            values = []
        for name in (b"surrogate-key", b"xkey"):
            headers = replaced(headers, name, values[0] if values else None)
        return {**start, "headers": headers}
