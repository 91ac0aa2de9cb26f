"""Gradient2 on synthetic latencies, and the middleware shedding at its limit."""

import asyncio

import orjson

from lifeceo.platform.levers.concurrency import AdaptiveConcurrency, AdaptiveConcurrencyMiddleware
from lifeceo.platform.levers.gradient import Gradient2


def saturated(limiter: Gradient2, latency_seconds: float, samples: int) -> None:
    """Requests that keep the class full: as many in flight as the limit allows."""
    for _ in range(samples):
        limiter.sample(latency_seconds, limiter.limit)


def test_the_limit_grows_while_latency_holds_steady():
    limiter = Gradient2(initial_limit=20, max_limit=200)
    saturated(limiter, 0.010, 100)
    assert limiter.limit > 60


def test_the_limit_shrinks_when_latency_doubles():
    limiter = Gradient2(initial_limit=20, max_limit=200)
    saturated(limiter, 0.010, 300)
    grown = limiter.limit
    saturated(limiter, 0.020, 30)
    assert limiter.limit < grown * 0.7
    assert limiter.short_rtt > 1.8 * 0.010 and limiter.long_rtt < 0.015


def test_an_idle_class_keeps_its_limit():
    limiter = Gradient2(initial_limit=20)
    for _ in range(100):
        limiter.sample(0.010, inflight=1)
    assert limiter.limit == 20


def test_the_limit_stays_within_its_bounds():
    limiter = Gradient2(initial_limit=20, min_limit=10, max_limit=50)
    saturated(limiter, 0.010, 500)
    assert limiter.limit == 50
    saturated(limiter, 1.0, 50)
    assert limiter.limit == 10


async def test_requests_at_the_limit_are_shed_with_503_and_retry_after():
    limits = AdaptiveConcurrency({"search": ["/api/v1/search"]}, initial_limit=2, min_limit=1,
                                 max_limit=10, retry_after_seconds=3)
    release = asyncio.Event()

    async def slow(scope, receive, send):
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    middleware = AdaptiveConcurrencyMiddleware(slow, limits=limits)

    async def request(path: str) -> list[dict]:
        sent = []

        async def send(message):
            sent.append(message)

        await middleware({"type": "http", "path": path}, None, send)
        return sent

    limits.apply("search", "on", until=float("inf"))
    running = [asyncio.create_task(request("/api/v1/search")) for _ in range(2)]
    await asyncio.sleep(0)
    shed = await request("/api/v1/search/suggest")
    assert shed[0]["status"] == 503
    assert (b"retry-after", b"3") in shed[0]["headers"]
    assert orjson.loads(shed[1]["body"])["status"] == 503
    # Another class, or an unlisted path, is not held back.
    other = asyncio.create_task(request("/api/v1/posts"))
    release.set()
    assert (await other)[0]["status"] == 200
    assert [(await task)[0]["status"] for task in running] == [200, 200]
    state = limits.state()["search"]
    assert state["shed"] == 1 and state["inflight"] == 0 and state["enabled"]

    limits.release("search")
    release.clear()
    held = [asyncio.create_task(request("/api/v1/search")) for _ in range(3)]
    await asyncio.sleep(0)
    release.set()
    assert [(await task)[0]["status"] for task in held] == [200, 200, 200]
