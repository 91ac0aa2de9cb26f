"""The HTTP metrics middleware: requests, durations and in-flight by route template."""

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lifeceo.platform.observability import metrics, window

UNMATCHED = "unmatched"
# A middleware that answers before the router has matched (load shedding) names here the path
# prefix the request was for, so that its answer counts in that route class, not as unmatched.
ROUTE_PREFIX = "lifeceo.route_prefix"
# Anything else (a client may send any token as the method) shares one label.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/api/v1/posts/{post_id}`), never the raw path, read
    from what the router leaves in the scope once it has matched (also on a 405 or 422).

    FastAPI 0.165 keeps included routers as nodes of their own: scope["route"] is the route as
    its router declared it (`/posts/{post_id}`, without the prefixes), and the full template is
    on the effective route context it records under scope["fastapi"]. Unmatched paths (404s,
    scanners) all share one label, so they cannot add series."""
    context = scope.get("fastapi", {}).get("effective_route_context")
    path = (getattr(context, "path", None) or getattr(scope.get("route"), "path", None)
            or scope.get(ROUTE_PREFIX))
    return path if isinstance(path, str) else UNMATCHED


class HttpMetricsMiddleware:
    """Outermost, so the duration covers every other middleware; pure ASGI and cheap: the
    labelled children are looked up once per (route, method, status) and reused."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        metrics.http_in_flight.inc()
        try:
            await self.app(scope, receive, send_with_status)
        finally:
            metrics.http_in_flight.dec()
            seconds = time.perf_counter() - started
            route = route_template(scope)
            method = scope["method"]
            self._record(route, method if method in METHODS else "OTHER", status, seconds)
            window.observe_request(route, method, status, seconds)

    def _record(self, route: str, method: str, status: int, seconds: float) -> None:
        index = status // 100 - 1
        status_class = STATUS_CLASSES[index] if 0 <= index < 5 else "5xx"
        key = (route, method, status_class)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (metrics.http_requests.labels(*key),
                                               metrics.http_duration.labels(*key))
        children[0].inc()
        children[1].observe(seconds)
