"""SQL timing from SQLAlchemy engine events, for the metrics and the request profiles, and the
pool's figures."""

import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from lifeceo.platform.observability import metrics
from lifeceo.platform.observability.profiles import current_profile

KINDS = ("select", "insert", "update", "delete")
# Statements are a bounded set of compiled strings, so their kinds are remembered; the bound is
# for hand-built SQL with literals in it.
_KIND_CACHE_MAX = 4096
_kinds: dict[str, str] = {}
_STARTED = "_lifeceo_started"


def statement_kind(statement: str) -> str:
    """`SELECT ...` -> select; a CTE is what its main statement does (`WITH ... INSERT` -> insert)."""
    kind = _kinds.get(statement)
    if kind is not None:
        return kind
    words = statement.lstrip(" \n\t(").split(None, 1)
    first = words[0].lower() if words else ""
    if first in KINDS:
        kind = first
    elif first == "with":
        kind = _main_statement_kind(statement)
    else:
        kind = "other"
    if len(_kinds) < _KIND_CACHE_MAX:
        _kinds[statement] = kind
    return kind


def _main_statement_kind(statement: str) -> str:
    """The first select/insert/update/delete outside parentheses: the CTEs' own bodies are
    inside theirs."""
    depth = 0
    outside: list[str] = []
    for char in statement:
        if char == "(":
            depth += 1
            outside.append(" ")
        elif char == ")":
            depth -= 1
        elif depth == 0:
            outside.append(char)
    for word in "".join(outside).lower().split():
        if word in KINDS:
            return word
    return "select"


class StatementTotals:
    """This process's timed statements since it started: the metrics history diffs them every
    interval (the mean statement time and error ratio of every process, for the monitor)."""

    __slots__ = ("count", "errors", "seconds")

    def __init__(self) -> None:
        self.count = 0
        self.errors = 0
        self.seconds = 0.0

    def snapshot(self) -> tuple[int, float, int]:
        return self.count, self.seconds, self.errors


STATEMENTS = StatementTotals()


class StatementTimer:
    """Times each statement once (one listener pair, and handle_error for those that raise) for
    the SQL histogram, the current request's profile, or both: whichever of
    LIFECEO_METRICS_ENABLED and LIFECEO_PROFILES_ENABLED is on."""

    def __init__(self, *, histogram: bool, profiles: bool) -> None:
        self.histogram = histogram
        self.profiles = profiles

    def before(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        if context is None:
            return
        # Without the histogram only a request's statements are timed: jobs' are not profiled.
        if self.histogram or (self.profiles and current_profile() is not None):
            setattr(context, _STARTED, time.perf_counter())

    def after(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
              executemany: bool) -> None:
        started = getattr(context, _STARTED, None)
        if started is not None:
            self._record(statement, time.perf_counter() - started, failed=False)

    def error(self, exception_context: Any) -> None:
        started = getattr(exception_context.execution_context, _STARTED, None)
        if started is not None and exception_context.statement is not None:
            self._record(exception_context.statement, time.perf_counter() - started, failed=True)

    def _record(self, statement: str, seconds: float, *, failed: bool) -> None:
        STATEMENTS.count += 1
        STATEMENTS.seconds += seconds
        if failed:
            STATEMENTS.errors += 1
        if self.histogram:
            kind = statement_kind(statement)
            metrics.db_queries.labels(kind).observe(seconds)
            if failed:
                metrics.db_query_errors.labels(kind).inc()
        if self.profiles:
            profile = current_profile()
            if profile is not None:
                profile.add(statement, seconds)


def instrument_engine(engine: AsyncEngine, *, histogram: bool, profiles: bool) -> None:
    """Time every statement the engine runs (all its connections, the pool's included)."""
    timer = StatementTimer(histogram=histogram, profiles=profiles)
    sync_engine = engine.sync_engine
    event.listen(sync_engine, "before_cursor_execute", timer.before)
    event.listen(sync_engine, "after_cursor_execute", timer.after)
    event.listen(sync_engine, "handle_error", timer.error)


def _waiting(pool: Any) -> int:
    """Callers blocked on the pool's queue. SQLAlchemy exposes no count, so this reads the
    asyncio.Queue's waiters behind its AsyncAdaptedQueue; 0 if that ever changes shape."""
    queue = getattr(getattr(pool, "_pool", None), "__dict__", {}).get("_queue")
    getters = getattr(queue, "_getters", None)
    if getters is None:
        return 0
    return sum(1 for waiter in getters if not waiter.done())


def sample_pool(engine: AsyncEngine) -> None:
    """Copy the pool's figures into this process's gauges."""
    pool: Any = engine.sync_engine.pool
    size = getattr(pool, "size", None)
    if size is None:  # NullPool and friends keep nothing
        return
    metrics.db_pool_size.set(pool.size())
    metrics.db_pool_max.set(pool.size() + max(getattr(pool, "_max_overflow", 0), 0))
    metrics.db_pool_checked_out.set(pool.checkedout())
    metrics.db_pool_waiting.set(_waiting(pool))
