"""Faults of the request path: `route_errors` raises inside the application on a share of a
route class's requests, and `db_latency` delays each SQL statement of a route class's requests.
ChaosMiddleware, the innermost middleware, does the first and notes each request's route class
for the second."""

import asyncio
import random
from contextvars import ContextVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only
from starlette.types import ASGIApp, Receive, Scope, Send

from lifeceo.platform.chaos.fault import ALL, Fault
from lifeceo.platform.observability.window import ROUTE_CLASSES, route_class

CHAOS_PATH = "/api/v1/admin/chaos"
# The route class of the request this task serves; None outside requests (jobs, the samplers).
_route_class: ContextVar[str | None] = ContextVar("lifeceo_chaos_route_class", default=None)
# Route classes as the metrics history keeps them (metrics_http's templates, by first segment).
ROUTE_TARGETS = (ALL, *ROUTE_CLASSES)


class InjectedFault(RuntimeError):
    """Raised by the route_errors fault: an unhandled error, as a bug would raise."""


class RouteErrors(Fault):
    name = "route_errors"
    unit = "share of requests, 0-1"
    targets = ROUTE_TARGETS


class DatabaseLatency(Fault):
    name = "db_latency"
    unit = "ms per statement"
    # Past 10 s a statement is an outage, not latency; the pool's own timeouts take over.
    max_magnitude = 10_000.0
    targets = ROUTE_TARGETS

    def __init__(self, engine: AsyncEngine | None = None) -> None:
        super().__init__()
        self._engine = engine

    def started(self, target: str) -> None:
        """Listens from the first injection on, and stays: removing a listener while delayed
        statements are parked inside the listeners' loop mutates the deque they iterate ("deque
        mutated during iteration", a 500 for each of them). At magnitude 0 it returns at once,
        and only a process with chaos armed ever has it."""
        if self._engine is not None and not event.contains(
                self._engine.sync_engine, "before_cursor_execute", self._delay):
            event.listen(self._engine.sync_engine, "before_cursor_execute", self._delay)

    def delay_seconds(self) -> float:
        """This statement's delay: the current request's route class's, 0 outside requests."""
        current = _route_class.get()
        return 0.0 if current is None else self.magnitude(current) / 1000

    def _delay(self, conn, cursor, statement, parameters, context, executemany) -> None:
        # Listeners run in SQLAlchemy's greenlet on the event loop, between the statement
        # timer (metrics_db.StatementTimer, registered first) and its round trip, so await_only
        # sleeps without blocking the loop and the statement really takes that much longer for
        # its request. pg_sleep would add statements of its own to profiles and statistics.
        seconds = self.delay_seconds()
        if seconds > 0:
            await_only(asyncio.sleep(seconds))


class ChaosMiddleware:
    """Innermost, so an injected error passes every other middleware as a real one does: error
    reporting logs it, the metrics count a 500."""

    def __init__(self, app: ASGIApp, *, errors: RouteErrors) -> None:
        self.app = app
        self.errors = errors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        name = route_class(path)
        token = _route_class.set(name)
        try:
            # Never the chaos routes: an administrator must be able to clear what they started.
            share = 0.0 if path.startswith(CHAOS_PATH) else self.errors.magnitude(name)
            if share > 0 and random.random() < share:
                send = _failing(send, f"injected fault: route_errors on {name} ({share:g})")
            await self.app(scope, receive, send)
        finally:
            _route_class.reset(token)


def _failing(send: Send, reason: str) -> Send:
    """Raises where the endpoint starts its response: after routing, so the metrics count the
    500 under its route template (raised before routing, it counted as "unmatched")."""

    async def failing_send(message) -> None:
        if message["type"] == "http.response.start":
            raise InjectedFault(reason)
        await send(message)

    return failing_send
