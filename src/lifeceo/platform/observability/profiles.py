"""Request profiles: each request's SQL statements, counted and timed, and a bounded sample of
them in each application (the slowest of each route class each minute, and every slow request),
for GET /admin/profiles and the performance monitor (profiles_report asks every process's).

The hot path does no fingerprinting: a request's statements are counted under their raw text,
which SQLAlchemy compiles once and reuses, and are grouped by fingerprint only when a kept
profile is read (profiles_sql.fingerprint remembers each text's)."""

import heapq
import itertools
import threading
import time
from collections import deque
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lifeceo.platform.observability.logging import trace_ids
from lifeceo.platform.observability.metrics_http import METHODS, route_template
from lifeceo.platform.observability.profiles_sql import MAX_STATEMENT_CHARS, fingerprint
from lifeceo.platform.observability.window import observe_statements
from lifeceo.settings import Settings

# Distinct statement texts one profile counts; a loop building SQL with literals in it adds one
# per iteration, and its count says so (`dropped_statements`) without unbounded memory.
MAX_STATEMENTS_PER_PROFILE = 256
# Sentry's N+1 rule: one fingerprint repeated at least 5 times, together at least 50 ms.
N_PLUS_ONE_MIN_COUNT = 5
N_PLUS_ONE_MIN_TOTAL_MS = 50.0
Order = Literal["newest", "slowest"]


@dataclass(frozen=True, slots=True)
class FingerprintStats:
    """One fingerprint's statements in one request."""

    fingerprint: str
    count: int
    total_ms: float
    max_ms: float


class RequestProfile:
    """One request's route, outcome and SQL; statements are counted only while it is open."""

    __slots__ = ("method", "route", "status", "started", "duration_ms", "request_id", "trace_id",
                 "statements", "dropped_statements", "open", "_grouped")

    def __init__(self, method: str, started: float) -> None:
        self.method = method
        self.route = ""
        self.status = 500
        self.started = started  # wall clock, seconds since the epoch
        self.duration_ms = 0.0
        self.request_id: str | None = None
        self.trace_id: str | None = None
        # raw statement text -> [count, total seconds, max seconds]
        self.statements: dict[str, list[Any]] = {}
        self.dropped_statements = 0
        self.open = True
        self._grouped: list[FingerprintStats] | None = None

    @property
    def started_at(self) -> datetime:
        return datetime.fromtimestamp(self.started, UTC)

    @property
    def statement_count(self) -> int:
        return sum(entry[0] for entry in self.statements.values()) + self.dropped_statements

    @property
    def sql_ms(self) -> float:
        return sum(entry[1] for entry in self.statements.values()) * 1000

    def add(self, statement: str, seconds: float) -> None:
        entry = self.statements.get(statement)
        if entry is None:
            if len(self.statements) >= MAX_STATEMENTS_PER_PROFILE:
                self.dropped_statements += 1
                return
            entry = self.statements[statement] = [0, 0.0, 0.0]
        entry[0] += 1
        entry[1] += seconds
        if seconds > entry[2]:
            entry[2] = seconds

    def by_fingerprint(self) -> list[FingerprintStats]:
        """Statements grouped by fingerprint, most total time first: "the same SELECT 40 times"."""
        if self._grouped is not None and not self.open:
            return self._grouped
        groups: dict[str, list[Any]] = {}
        for statement, (count, total, longest) in list(self.statements.items()):
            group = groups.setdefault(fingerprint(statement[:MAX_STATEMENT_CHARS]), [0, 0.0, 0.0])
            group[0] += count
            group[1] += total
            group[2] = max(group[2], longest)
        grouped = sorted((FingerprintStats(text, count, round(total * 1000, 3),
                                         round(longest * 1000, 3))
                          for text, (count, total, longest) in groups.items()),
                         key=lambda stats: stats.total_ms, reverse=True)
        self._grouped = grouped
        return grouped


def repeated_fingerprints(profile: RequestProfile, *, min_count: int = N_PLUS_ONE_MIN_COUNT,
                          min_total_ms: float = N_PLUS_ONE_MIN_TOTAL_MS) -> list[FingerprintStats]:
    """The fingerprints a request repeated at least `min_count` times for `min_total_ms`."""
    return [stats for stats in profile.by_fingerprint()
            if stats.count >= min_count and stats.total_ms >= min_total_ms]


def repeats_statements(profile: RequestProfile) -> bool:
    """Whether a finished request broke the N+1 rule. Most requests run a few statements in a
    few milliseconds and are answered by the two sums alone; the rest are fingerprinted."""
    return (profile.statement_count >= N_PLUS_ONE_MIN_COUNT
            and profile.sql_ms >= N_PLUS_ONE_MIN_TOTAL_MS
            and bool(repeated_fingerprints(profile)))


class ProfileStore:
    """This process's sample: per (minute, route, method) a min-heap of the slowest K, plus a
    ring of every request over the threshold; at most `max_requests` in the heaps, the fastest
    of the oldest minute dropped first, and nothing older than `retention_minutes`."""

    def __init__(self, *, slow_request_ms: float = 250.0, keep_per_route_minute: int = 5,
                 max_requests: int = 2000, slow_max_requests: int = 500,
                 retention_minutes: int = 10) -> None:
        self._lock = threading.Lock()
        self._sequence = itertools.count()
        self.configure(slow_request_ms=slow_request_ms, keep_per_route_minute=keep_per_route_minute,
                       max_requests=max_requests, slow_max_requests=slow_max_requests,
                       retention_minutes=retention_minutes)

    def configure(self, *, slow_request_ms: float, keep_per_route_minute: int, max_requests: int,
                  slow_max_requests: int, retention_minutes: int) -> None:
        """New bounds, and an empty sample."""
        with self._lock:
            self.slow_request_ms = slow_request_ms
            self.keep_per_route_minute = keep_per_route_minute
            self.max_requests = max_requests
            self.retention_minutes = retention_minutes
            self._heaps: dict[tuple[int, str, str], list[tuple[float, int, RequestProfile]]] = {}
            self._held = 0
            self._slow: deque[RequestProfile] = deque(maxlen=slow_max_requests)
            self._minute = 0

    @property
    def capacity(self) -> int:
        return self.max_requests + (self._slow.maxlen or 0)

    def __len__(self) -> int:
        return len(self._profiles())

    def clear(self) -> None:
        with self._lock:
            self._heaps.clear()
            self._held = 0
            self._slow.clear()

    def keep(self, profile: RequestProfile) -> bool:
        """Offer a finished profile; whether it was kept (in a heap, the ring or both)."""
        duration = profile.duration_ms
        minute = int(profile.started // 60)
        kept = False
        with self._lock:
            if minute > self._minute:
                self._minute = minute
                self._expire(minute - self.retention_minutes)
            if self.keep_per_route_minute:
                key = (minute, profile.route, profile.method)
                heap = self._heaps.get(key)
                if heap is None:
                    heap = self._heaps[key] = []
                if len(heap) < self.keep_per_route_minute:
                    heapq.heappush(heap, (duration, next(self._sequence), profile))
                    self._held += 1
                    kept = True
                elif duration > heap[0][0]:
                    heapq.heapreplace(heap, (duration, next(self._sequence), profile))
                    kept = True
                while self._held > self.max_requests:
                    self._evict_one()
            if duration >= self.slow_request_ms and self._slow.maxlen:
                self._slow.append(profile)
                kept = True
        return kept

    def _evict_one(self) -> None:
        key = next(iter(self._heaps))
        heap = self._heaps[key]
        heapq.heappop(heap)
        self._held -= 1
        if not heap:
            del self._heaps[key]

    def _expire(self, before_minute: int) -> None:
        for key in [key for key in self._heaps if key[0] <= before_minute]:
            self._held -= len(self._heaps.pop(key))
        cutoff = (before_minute + 1) * 60
        while self._slow and self._slow[0].started < cutoff:
            self._slow.popleft()

    def _profiles(self) -> list[RequestProfile]:
        with self._lock:
            found = {id(entry[2]): entry[2] for heap in self._heaps.values() for entry in heap}
            found.update((id(profile), profile) for profile in self._slow)
        return list(found.values())

    def recent(self, *, since: datetime | None = None, route: str | None = None,
               method: str | None = None, min_duration_ms: float | None = None,
               order: Order = "newest", limit: int = 100) -> list[RequestProfile]:
        """The kept profiles that match, newest or slowest first."""
        return _matching(self._profiles(), since=since, route=route, method=method,
                         min_duration_ms=min_duration_ms, order=order, limit=limit)

    def recent_and_held(self, *, since: datetime | None = None, route: str | None = None,
                        min_duration_ms: float | None = None, order: Order = "newest",
                        limit: int = 100) -> tuple[list[RequestProfile], int]:
        """`recent`, and how many profiles are held, from one walk of the sample."""
        held = self._profiles()
        return _matching(held, since=since, route=route, method=None,
                         min_duration_ms=min_duration_ms, order=order, limit=limit), len(held)

    def find(self, request_id: str) -> RequestProfile | None:
        """The newest kept profile of that request id (a caller may send the same one twice)."""
        matches = [profile for profile in self._profiles() if profile.request_id == request_id]
        return max(matches, key=lambda profile: profile.started, default=None)

    def repeated_statements(self, *, min_count: int = N_PLUS_ONE_MIN_COUNT,
                            min_total_ms: float = N_PLUS_ONE_MIN_TOTAL_MS,
                            since: datetime | None = None,
                            ) -> list[tuple[RequestProfile, list[FingerprintStats]]]:
        """Kept requests that repeated a fingerprint (Sentry's N+1 rule), newest first."""
        found = []
        for profile in self.recent(since=since, limit=self.capacity):
            repeated = repeated_fingerprints(profile, min_count=min_count,
                                             min_total_ms=min_total_ms)
            if repeated:
                found.append((profile, repeated))
        return found


def _matching(profiles: list[RequestProfile], *, since: datetime | None, route: str | None,
              method: str | None, min_duration_ms: float | None, order: Order,
              limit: int) -> list[RequestProfile]:
    after = since.timestamp() if since is not None else None
    found = [profile for profile in profiles
             if (after is None or profile.started > after)
             and (route is None or profile.route == route)
             and (method is None or profile.method == method)
             and (min_duration_ms is None or profile.duration_ms >= min_duration_ms)]
    found.sort(key=(lambda p: p.started) if order == "newest" else (lambda p: p.duration_ms),
               reverse=True)
    return found[:limit]


# The profile of the request this code runs for; None in jobs, the lifespan's tasks, and once
# the response is sent (background tasks, tasks the request started).
_current: ContextVar[RequestProfile | None] = ContextVar("lifeceo_profile", default=None)


def current_profile() -> RequestProfile | None:
    """The profile of the request this code runs for while it is open: where its statements go
    (metrics_db.StatementTimer times them)."""
    profile = _current.get()
    return profile if profile is not None and profile.open else None


class ProfileMiddleware:
    """Opens a profile for each request and offers it to the store once the response is sent.
    Outside the request context (it reads the request id bound there) and the error reporting,
    so it sees the status the client got; pure ASGI, so the context variable reaches the route.
    Every request's statement count, and whether it repeated one, go to the request window: the
    metrics history carries them from every process to the monitor's n_plus_one detector."""

    def __init__(self, app: ASGIApp, *, store: ProfileStore) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        profile = RequestProfile(method if method in METHODS else "OTHER", time.time())
        started = time.perf_counter()
        ended: float | None = None

        async def send_and_watch(message: Message) -> None:
            nonlocal ended
            if message["type"] == "http.response.start":
                profile.status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                profile.open = False
                ended = time.perf_counter()
            await send(message)

        token = _current.set(profile)
        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            _current.reset(token)
            profile.open = False
            profile.duration_ms = ((ended or time.perf_counter()) - started) * 1000
            profile.route = route_template(scope)
            profile.request_id = scope.get("state", {}).get("request_id")
            observe_statements(profile.route, profile.statement_count,
                               repeated=repeats_statements(profile))
            if self.store.keep(profile):
                # Still inside the request's server span (tracing wraps every middleware).
                profile.trace_id = trace_ids().get("trace_id")


def install(app: Any, settings: Settings) -> ProfileStore:
    """The application's store (`app.state.profile_store`), and the middleware that fills it
    added right outside the request context middleware; no middleware when profiles are off.
    One store per application, not per module: two applications in one process (the tests')
    are two processes' samples, as they are two lever boards."""
    store = ProfileStore(slow_request_ms=settings.profile_slow_request_ms,
                         keep_per_route_minute=settings.profile_keep_per_route_minute,
                         max_requests=settings.profile_max_requests,
                         slow_max_requests=settings.profile_slow_max_requests,
                         retention_minutes=settings.profile_retention_minutes)
    app.state.profile_store = store
    if settings.profiles_enabled:
        app.add_middleware(ProfileMiddleware, store=store)
    return store
