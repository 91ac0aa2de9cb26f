"""Faults of the dependencies: `redis_outage` makes the cache's and the rate limiter's Redis
calls fail as a refused connection does, `slow_dependency` delays outgoing HTTP (httpx: Varnish
purges, webhooks) and SMTP (aiosmtplib) connections."""

import asyncio
import weakref

import aiosmtplib
import httpx
from redis.asyncio import ConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError

from lifeceo.errors import Conflict
from lifeceo.platform.cache import Cache
from lifeceo.platform.chaos.fault import ALL, Fault
from lifeceo.platform.ratelimit import RateLimiter


class RedisOutage(Fault):
    """Each pool's get_connection refuses, in this process only: the breaker and the rate
    limiter's fallback see the failures they see when Redis is down and react the normal way,
    while the live hub (which carries the clearing) keeps its own connections."""

    name = "redis_outage"
    unit = "1: on"
    targets = (ALL, "cache", "ratelimit")

    def __init__(self, *, redis_configured: bool, cache: Cache | None = None,
                 rate_limiter: RateLimiter | None = None) -> None:
        super().__init__()
        self.redis_configured = redis_configured
        self._pools = {"cache": cache.redis_pool if cache is not None else None,
                       "ratelimit": rate_limiter.redis_pool if rate_limiter else None}

    def check(self, target: str, value: str) -> str:
        checked = super().check(target, value)
        if not self.redis_configured:
            # Without Redis there is nothing to lose: L1 and the local counts are all there is.
            raise Conflict("Redis is not configured on this deployment: no outage to inject.")
        return checked

    def started(self, target: str) -> None:
        for name, pool in self._pools.items():
            if pool is not None and target in (ALL, name):
                pool.get_connection = _refusing(self, name, pool)

    def stopped(self, target: str) -> None:
        for name, pool in self._pools.items():
            if pool is not None and not self.magnitude(name):
                pool.__dict__.pop("get_connection", None)


def _refusing(fault: RedisOutage, name: str, pool: ConnectionPool):
    original = type(pool).get_connection

    async def get_connection(*args, **options):
        if fault.magnitude(name):
            raise RedisConnectionError("Error 111 connecting to redis: Connection refused "
                                       "(injected fault: redis_outage)")
        return await original(pool, *args, **options)

    return get_connection


# Every SlowDependency of this process (two applications share one in tests).
_slow: "weakref.WeakSet[SlowDependency]" = weakref.WeakSet()
_installed = False


class SlowDependency(Fault):
    name = "slow_dependency"
    unit = "ms per outgoing call"
    # Past a minute every client's own timeout has fired: that is an outage, not slowness.
    max_magnitude = 60_000.0
    targets = (ALL, "http", "smtp")
    in_job_workers = True

    def __init__(self) -> None:
        """Registered for the hooks, which only an armed process installs (install_hooks)."""
        super().__init__()
        _slow.add(self)


def delay_seconds(kind: str) -> float:
    return max((fault.magnitude(kind) for fault in _slow), default=0.0) / 1000


def install_hooks() -> None:
    """Wrap httpx's transport and aiosmtplib's connect once per process, as OpenTelemetry's
    instrumentations wrap libraries: every caller (the Varnish purger, the mailer) is delayed
    without knowing about chaos. Installed only where chaos is armed."""
    global _installed
    if _installed:
        return
    _installed = True
    handle = httpx.AsyncHTTPTransport.handle_async_request
    connect = aiosmtplib.SMTP.connect

    async def slow_handle(self, request):
        await _wait(delay_seconds("http"))
        return await handle(self, request)

    async def slow_connect(self, *args, **options):
        await _wait(delay_seconds("smtp"))
        return await connect(self, *args, **options)

    httpx.AsyncHTTPTransport.handle_async_request = slow_handle
    aiosmtplib.SMTP.connect = slow_connect


async def _wait(seconds: float) -> None:
    if seconds > 0:
        await asyncio.sleep(seconds)

