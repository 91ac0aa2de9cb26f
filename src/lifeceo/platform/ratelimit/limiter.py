"""Sliding-window counters shared by every worker and node through Redis, and counted in this
process while Redis does not answer.

Without LIFECEO_REDIS_URL every worker process counts alone, so a client may get up to the quota
times the number of workers. A PostgreSQL counter would be exact there too, but would add a write
transaction to every API request of the default deployment; Redis is the shared store we ask
production to run."""

import asyncio
import math
import time
from dataclasses import dataclass

import structlog
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from redis.asyncio import ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from lifeceo.platform.ratelimit.policies import Policy

log = structlog.get_logger(__name__)
# The counting script answers in well under a millisecond on a LAN; the margin is for an event loop
# busy with other requests. Past it the request is counted locally rather than kept waiting.
REDIS_TIMEOUT_SECONDS = 0.25
# While Redis is down one request per interval tries it again, so the others never wait a timeout.
REDIS_RETRY_SECONDS = 1.0
KEY_PREFIX = "lifeceo:ratelimit"


@dataclass(frozen=True)
class Quota:
    """What is left of one policy's quota for one client after a request."""

    policy: Policy
    allowed: bool
    remaining: int
    # Until the counter has room for one more request.
    reset_seconds: int


async def _count(limiter: SlidingWindowCounterRateLimiter, policy: Policy, subject: str,
                 cost: int) -> Quota:
    allowed = await limiter.hit(policy.item, policy.name, subject, cost=cost)
    stats = await limiter.get_window_stats(policy.item, policy.name, subject)
    return Quota(policy, allowed, stats.remaining,
                 max(0, math.ceil(stats.reset_time - time.time())))


class RateLimiter:
    def __init__(self, policies: dict[str, Policy], *, redis_url: str | None) -> None:
        self.policies = policies
        self._local = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._pool: ConnectionPool | None = None
        self._shared: SlidingWindowCounterRateLimiter | None = None
        if redis_url:
            # No retries: a failed count is answered locally at once, not after a backoff.
            self._pool = ConnectionPool.from_url(
                redis_url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS, retry=Retry(NoBackoff(), 0))
            storage = RedisStorage(f"async+{redis_url}", implementation="redispy",
                                   connection_pool=self._pool, wrap_exceptions=True,
                                   key_prefix=KEY_PREFIX)
            self._shared = SlidingWindowCounterRateLimiter(storage)
        self._redis_down = False
        self._retry_redis_at = 0.0

    @property
    def shared(self) -> bool:
        """Whether the counts are the ones every worker and node sees."""
        return self._shared is not None and not self._redis_down

    @property
    def redis_configured(self) -> bool:
        return self._shared is not None

    async def hit(self, name: str, subject: str) -> Quota:
        """Counts one request; a request over the quota is refused and not counted."""
        return await self._counted(self.policies[name], subject, cost=1)

    async def refund(self, name: str, subject: str) -> Quota:
        """Takes back a hit of a request that turned out not to count (a successful login)."""
        # `limits` has no decrement; a cost of -1 adds -1 to the current window in both storages.
        return await self._counted(self.policies[name], subject, cost=-1)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()

    async def _counted(self, policy: Policy, subject: str, *, cost: int) -> Quota:
        shared = self._shared_limiter()
        if shared is not None:
            try:
                async with asyncio.timeout(REDIS_TIMEOUT_SECONDS):
                    quota = await _count(shared, policy, subject, cost)
            except (StorageError, TimeoutError) as exc:
                self._redis_failed(exc)
            else:
                self._redis_answered()
                return quota
        return await _count(self._local, policy, subject, cost)

    def _shared_limiter(self) -> SlidingWindowCounterRateLimiter | None:
        if self._shared is None:
            return None
        if self._redis_down:
            now = time.monotonic()
            if now < self._retry_redis_at:
                return None
            # This request probes; the ones arriving meanwhile stay local.
            self._retry_redis_at = now + REDIS_RETRY_SECONDS
        return self._shared

    def _redis_failed(self, exc: Exception) -> None:
        self._retry_redis_at = time.monotonic() + REDIS_RETRY_SECONDS
        if not self._redis_down:
            self._redis_down = True
            log.warning("rate limits counted per process: Redis does not answer",
                        error=str(exc) or type(exc).__name__)

    def _redis_answered(self) -> None:
        if self._redis_down:
            self._redis_down = False
            log.warning("rate limits shared through Redis again")
