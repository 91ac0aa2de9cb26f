"""Sliding-window counters shared by every worker and node through Redis, and counted in this
process while Redis does not answer.

While Redis is down, the security policies (SECURITY_POLICIES) give each process only its share of
the quota, `quota // processes` (0: refused), so the deployment as a whole admits no more than the
quota during the outage; the other policies give each process the whole quota, as does every
policy without LIFECEO_REDIS_URL, where a client may get up to the quota times the number of
workers. A PostgreSQL counter would be exact there too, but would add a write transaction to
every API request of the default deployment; Redis is the shared store we ask production to
run."""

import math
import time
from dataclasses import dataclass, replace

import structlog
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from redis.asyncio import ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from lifeceo.platform.cache.breaker import BreakerState
from lifeceo.platform.observability import loop_lag
from lifeceo.platform.ratelimit.policies import SECURITY_POLICIES, Policy

log = structlog.get_logger(__name__)
# The counting script answers in well under a millisecond on a LAN; the margin is for an event loop
# busy with other requests. Past it, with the loop on time meanwhile, Redis is taken for down and
# the request is counted locally rather than kept waiting (loop_lag.wait_for).
REDIS_TIMEOUT_SECONDS = 0.25
# A call given up while the loop itself lagged (LaggedTimeout) is counted locally, but Redis is
# taken for down only once no call has been answered for this long of on-time loop.
UNANSWERED_SECONDS = 1.0
# While Redis is down one request per interval tries it again, so the others never wait a timeout.
REDIS_RETRY_SECONDS = 1.0
KEY_PREFIX = "lifeceo:ratelimit"
# The policy every API request is charged to (the API router's): a tightened client's stricter
# quota is charged with it, so once per request whatever other policies the route adds.
REQUEST_POLICY = "api"


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


def outage_share(policy: Policy, processes: int) -> Policy:
    """The quota one of `processes` counting alone may give: its share of a security policy."""
    if policy.name not in SECURITY_POLICIES or processes <= 1:
        return policy
    item = policy.item
    return replace(policy, item=type(item)(policy.quota // processes, item.multiples,
                                           item.namespace))


class RateLimiter:
    def __init__(self, policies: dict[str, Policy], *, redis_url: str | None,
                 processes: int = 1) -> None:
        """`processes`: how many count while Redis is down, across the deployment."""
        self.policies = policies
        self._outage_policies = {name: outage_share(policy, processes)
                                 for name, policy in policies.items()}
        self._local = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._pool: ConnectionPool | None = None
        self._shared: SlidingWindowCounterRateLimiter | None = None
        if redis_url:
            # No retries: a failed count is answered locally at once, not after a backoff.
            # redis-py's own timeouts are only a backstop behind wait_for's, which does not
            # expire while the loop is busy elsewhere.
            backstop = 2 * REDIS_TIMEOUT_SECONDS * loop_lag.PATIENCE_TIMEOUTS
            self._pool = ConnectionPool.from_url(
                redis_url, socket_timeout=backstop, socket_connect_timeout=backstop,
                retry=Retry(NoBackoff(), 0))
            storage = RedisStorage(f"async+{redis_url}", implementation="redispy",
                                   connection_pool=self._pool, wrap_exceptions=True,
                                   key_prefix=KEY_PREFIX)
            self._shared = SlidingWindowCounterRateLimiter(storage)
        self._redis_down = False
        self._retry_redis_at = 0.0
        self._answered_at = time.monotonic()
        # The breaker lever: open counts here, closed asks Redis on every request, until a
        # wall-clock time.
        self._held: tuple[BreakerState, float] | None = None
        # The client limit lever: subject -> (a stricter policy it also counts against, until).
        self._tightened: dict[str, tuple[Policy, float]] = {}

    @property
    def shared(self) -> bool:
        """Whether the counts are the ones every worker and node sees."""
        return (self._shared is not None and not self._redis_down
                and self.held is not BreakerState.OPEN)

    def redis_reachable(self) -> bool | None:
        """Whether the shared counts answer; None without Redis or while the breaker lever holds
        them."""
        if self._shared is None or self.held is not None:
            return None
        return not self._redis_down

    @property
    def redis_configured(self) -> bool:
        return self._shared is not None

    @property
    def redis_pool(self) -> ConnectionPool | None:
        """The shared counts' connection pool (fault injection's redis_outage)."""
        return self._pool

    async def hit(self, name: str, subject: str) -> Quota:
        """Counts one request; a request over the quota is refused and not counted. With the
        request policy, a tightened client's stricter quota counts too, and a request that
        either refuses is counted by neither."""
        strict = self._tightened_policy(subject) if name == REQUEST_POLICY else None
        if strict is not None:
            tightened = await self._counted(strict, subject, cost=1)
            if not tightened.allowed:
                return tightened
        quota = await self._counted(self.policies[name], subject, cost=1)
        if strict is not None and not quota.allowed:
            await self._counted(strict, subject, cost=-1)
        return quota

    def tighten(self, subject: str, policy: Policy, *, until: float) -> None:
        """The client limit lever: `subject` also counts against `policy` until `until`."""
        self._tightened[subject] = (policy, until)

    def loosen(self, subject: str) -> None:
        self._tightened.pop(subject, None)

    def tightened(self) -> dict[str, tuple[Policy, float]]:
        """The clients tightened now: subject -> (policy, until)."""
        now = time.time()
        for subject in [subject for subject, (_, until) in self._tightened.items()
                        if until <= now]:
            del self._tightened[subject]
        return dict(self._tightened)

    def _tightened_policy(self, subject: str) -> Policy | None:
        policy, until = self._tightened.get(subject, (None, 0.0))
        return policy if until > time.time() else None

    def hold(self, state: BreakerState | None, *, until: float = 0.0) -> None:
        """Open: count in this process; closed: ask Redis even after failures; None: as Redis
        answers."""
        self._held = None if state is None else (state, until)

    @property
    def held(self) -> BreakerState | None:
        if self._held is not None and time.time() >= self._held[1]:
            self._held = None
        return None if self._held is None else self._held[0]

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
                quota = await loop_lag.wait_for(_count(shared, policy, subject, cost),
                                                REDIS_TIMEOUT_SECONDS)
            except (StorageError, TimeoutError) as exc:
                self._redis_failed(exc)
            else:
                self._redis_answered()
                return quota
        return await self._counted_here(policy, subject, cost)

    async def _counted_here(self, policy: Policy, subject: str, cost: int) -> Quota:
        if self._shared is None:
            return await _count(self._local, policy, subject, cost)
        # Redis is configured, so other processes count too: a security policy gets its share.
        share = self._outage_policies.get(policy.name, policy)
        if share.quota == 0:
            return Quota(share, allowed=cost <= 0, remaining=0,
                         reset_seconds=math.ceil(REDIS_RETRY_SECONDS))
        return await _count(self._local, share, subject, cost)

    def _shared_limiter(self) -> SlidingWindowCounterRateLimiter | None:
        held = self.held
        if self._shared is None or held is BreakerState.OPEN:
            return None
        if self._redis_down and held is not BreakerState.CLOSED:
            now = time.monotonic()
            if now < self._retry_redis_at:
                return None
            # This request probes; the ones arriving meanwhile stay local.
            self._retry_redis_at = now + REDIS_RETRY_SECONDS
        return self._shared

    def _redis_failed(self, exc: Exception) -> None:
        now = time.monotonic()
        if (isinstance(exc, loop_lag.LaggedTimeout) and not self._redis_down
                and loop_lag.on_time_since(self._answered_at) < UNANSWERED_SECONDS):
            return
        self._retry_redis_at = now + REDIS_RETRY_SECONDS
        if not self._redis_down:
            self._redis_down = True
            log.warning("rate limits counted per process: Redis does not answer",
                        error=str(exc) or type(exc).__name__,
                        loop_lag_ms=round(loop_lag.monitor().recent() * 1000, 1))

    def _redis_answered(self) -> None:
        self._answered_at = time.monotonic()
        if self._redis_down:
            self._redis_down = False
            log.warning("rate limits shared through Redis again")
