"""The adaptive concurrency limit of expensive route classes: a pure ASGI middleware that keeps
a Gradient2 limit per class from the latencies it measures and, where the lever switched the
class on, answers 503 with Retry-After once as many requests are in flight as the limit. The
classes are the monitor's (observability.window.route_class), so a lever names what a detector
names."""

import time
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from lifeceo.errors import LifeceoError, Unprocessable
from lifeceo.platform.http.problems import PROBLEM_JSON, problem_body
from lifeceo.platform.levers.gradient import Gradient2
from lifeceo.platform.observability import window
from lifeceo.platform.observability.metrics_http import ROUTE_PREFIX
from lifeceo.settings import Settings

ON, OFF = "on", "off"


@dataclass
class RouteClass:
    name: str
    limiter: Gradient2
    inflight: int = 0
    shed: int = 0
    # Wall-clock time the lever's "on" lasts until; 0: off.
    on_until: float = 0.0

    @property
    def enabled(self) -> bool:
        return self.on_until > time.time()


class AdaptiveConcurrency:
    """The lever `concurrency`: target a route class, value on or off."""

    name = "concurrency"

    def __init__(self, classes: list[str], *, initial_limit: int, min_limit: int,
                 max_limit: int, retry_after_seconds: int) -> None:
        unknown = sorted(set(classes) - set(window.ROUTE_CLASSES))
        if unknown:
            raise LifeceoError(f"LIFECEO_LEVERS_CONCURRENCY_ROUTE_CLASSES: no route classes "
                               f"{unknown}; they are {list(window.ROUTE_CLASSES)}")
        self.classes = [RouteClass(name, Gradient2(initial_limit=initial_limit,
                                                   min_limit=min_limit, max_limit=max_limit))
                        for name in dict.fromkeys(classes)]
        self._by_name = {route_class.name: route_class for route_class in self.classes}
        self.retry_after_seconds = retry_after_seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> "AdaptiveConcurrency":
        return cls(settings.levers_concurrency_route_classes,
                   initial_limit=settings.levers_concurrency_initial_limit,
                   min_limit=settings.levers_concurrency_min_limit,
                   max_limit=settings.levers_concurrency_max_limit,
                   retry_after_seconds=settings.levers_concurrency_retry_after_seconds)

    def route_class(self, path: str) -> RouteClass | None:
        return self._by_name.get(window.route_class(path))

    def _named(self, target: str) -> list[RouteClass]:
        return [self._by_name[target]] if target in self._by_name else []

    def check(self, target: str, value: str) -> str:
        if not self._named(target):
            raise Unprocessable(f"No route class {target!r}; the classes are "
                                f"{[route_class.name for route_class in self.classes]}.")
        if value not in (ON, OFF):
            raise Unprocessable("The concurrency lever's value is 'on' or 'off'.")
        return value

    # A process configured without the class (another deployment's settings) ignores it.
    def apply(self, target: str, value: str, until: float) -> None:
        for route_class in self._named(target):
            route_class.on_until = until if value == ON else 0.0

    def release(self, target: str) -> None:
        for route_class in self._named(target):
            route_class.on_until = 0.0

    def state(self) -> dict:
        return {route_class.name: {
            "enabled": route_class.enabled, "limit": route_class.limiter.limit,
            "inflight": route_class.inflight, "shed": route_class.shed,
            "short_rtt_ms": round(route_class.limiter.short_rtt * 1000, 2),
            "long_rtt_ms": round(route_class.limiter.long_rtt * 1000, 2),
        } for route_class in self.classes}


class AdaptiveConcurrencyMiddleware:
    """Measures every request of a class (the limit is warm when the lever switches it on);
    sheds only while it is on."""

    def __init__(self, app: ASGIApp, *, limits: AdaptiveConcurrency) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route_class = (self.limits.route_class(scope["path"]) if scope["type"] == "http"
                       else None)
        if route_class is None:
            await self.app(scope, receive, send)
            return
        if route_class.enabled and route_class.inflight >= route_class.limiter.limit:
            route_class.shed += 1
            # What a shed request counts under in the metrics (a path of class "other" then
            # counts as unmatched).
            if (prefix := window.class_prefix(scope["path"])) is not None:
                scope[ROUTE_PREFIX] = prefix
            await self._shed(scope, send, route_class)
            return
        route_class.inflight += 1
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            inflight = route_class.inflight
            route_class.inflight -= 1
            route_class.limiter.sample(time.perf_counter() - started, inflight)

    async def _shed(self, scope: Scope, send: Send, route_class: RouteClass) -> None:
        body = problem_body(503, detail=f"The server is busy with {route_class.name} requests; "
                            f"retry in {self.limits.retry_after_seconds} s.",
                            instance=scope["path"])
        await send({"type": "http.response.start", "status": 503, "headers": [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(self.limits.retry_after_seconds).encode()),
            (b"cache-control", b"no-store")]})
        await send({"type": "http.response.body", "body": body})
