"""Per-process request counts by route class, which the metrics history sampler turns into a
delta every interval. The request path only increments: no lock, no swap, no allocation."""

import math

from lifeceo.platform.observability.histogram import (
    _LAST,
    _OFFSET,
    _SCALE,
    MIN_SECONDS,
    new_buckets,
)

API_PREFIX = "/api/v1/"

# First path segment after /api/v1/ -> route class. Coarse on purpose: the history keeps one
# series per class, so the set must stay small and stable across releases.
SEGMENT_CLASSES = {
    "feed": "feed",
    "posts": "posts",
    "search": "search",
    "users": "users",
    "me": "users",
    "auth": "auth",
    "events": "events",
    "media": "media",
    "notifications": "notifications",
    "admin": "admin",
}
ROUTE_CLASSES = (*dict.fromkeys(SEGMENT_CLASSES.values()), "health", "other", "unmatched")

_log = math.log

# Per class: cumulative (requests, 5xx, histogram, SQL statements, requests that repeated one
# statement), copied at each flush.
Totals = dict[str, tuple[int, int, list[int], int, int]]


def route_class(route: str) -> str:
    """`/api/v1/posts/{post_id}` -> `posts`; `/api/health/ready` -> `health`; else `other`."""
    if route == "unmatched":
        return "unmatched"
    if route.startswith("/api/health"):
        return "health"
    if route.startswith(API_PREFIX):
        segment = route[len(API_PREFIX):].partition("/")[0]
        return SEGMENT_CLASSES.get(segment, "other")
    return "other"


def class_prefix(path: str) -> str | None:
    """The prefix that gives a path its route class (`/api/v1/search`), a bounded label for a
    request answered before routing; None where no prefix does (class "other")."""
    if path.startswith("/api/health"):
        return "/api/health"
    segment = path[len(API_PREFIX):].partition("/")[0] if path.startswith(API_PREFIX) else ""
    return f"{API_PREFIX}{segment}" if segment in SEGMENT_CLASSES else None


class ClassCounters:
    """Cumulative since the window was made: the flush diffs against its last copy."""

    __slots__ = ("buckets", "errors", "repeated", "requests", "statements")

    def __init__(self) -> None:
        self.requests = 0
        self.errors = 0
        self.buckets = new_buckets()
        # From the request profiles (lifeceo.platform.observability.profiles), when they are on.
        self.statements = 0
        self.repeated = 0


class RequestWindow:
    """One per process (`default_window()`); tests make several to stand for several."""

    def __init__(self) -> None:
        self.by_class = {name: ClassCounters() for name in ROUTE_CLASSES}
        # Route template -> its class's counters; templates are bounded, so this dict is too.
        self.by_route: dict[str, ClassCounters] = {}

    def counters_for(self, route: str) -> ClassCounters:
        counters = self.by_route[route] = self.by_class[route_class(route)]
        return counters

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        counters = self.by_route.get(route)
        if counters is None:
            counters = self.counters_for(route)
        counters.requests += 1
        if status >= 500:
            counters.errors += 1
        # histogram.bucket_of() inlined, and no min() call: this runs on every request.
        if seconds > MIN_SECONDS:
            index = int(_log(seconds) * _SCALE + _OFFSET)
            counters.buckets[index if index < _LAST else _LAST] += 1  # noqa: FURB136
        else:
            counters.buckets[0] += 1

    def observe_statements(self, route: str, statements: int, *, repeated: bool) -> None:
        """Count one finished request's SQL statements, and whether it repeated one statement
        by the N+1 rule (the profile middleware calls it)."""
        counters = self.by_route.get(route)
        if counters is None:
            counters = self.counters_for(route)
        counters.statements += statements
        if repeated:
            counters.repeated += 1

    def totals(self) -> Totals:
        return {name: (c.requests, c.errors, c.buckets.copy(), c.statements, c.repeated)
                for name, c in self.by_class.items()}


def delta(before: Totals, after: Totals) -> dict[str, dict[str, object]]:
    """Per class with traffic in between: requests, 5xx, sparse histogram {bucket: count}, and
    the profiles' SQL statements and requests that repeated one."""
    out: dict[str, dict[str, object]] = {}
    for name, (requests, errors, buckets, statements, repeated) in after.items():
        old_requests, old_errors, old_buckets, old_statements, old_repeated = before.get(
            name, (0, 0, None, 0, 0))
        if requests == old_requests:
            continue
        if old_buckets is None:
            hist = {str(i): n for i, n in enumerate(buckets) if n}
        else:
            hist = {str(i): n - o for i, (n, o) in enumerate(zip(buckets, old_buckets)) if n != o}
        out[name] = {"requests": requests - old_requests, "errors": errors - old_errors,
                     "hist": hist, "statements": statements - old_statements,
                     "repeated": repeated - old_repeated}
    return out


_default = RequestWindow()
_observe = _default.observe
observe_statements = _default.observe_statements


def default_window() -> RequestWindow:
    """This process's window, the one observe_request counts into."""
    return _default


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one finished request; the HTTP metrics middleware calls it after every response."""
    _observe(route, method, status, seconds)
