"""L2 behind the circuit breaker: calls return a fallback instead of raising, and a background
probe closes the breaker once Redis answers and the invalidations it missed have been replayed."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import TypeVar

import structlog

from lifeceo.platform.cache.breaker import BreakerState, CircuitBreaker
from lifeceo.platform.cache.invalidation import Invalidation, PendingL2Invalidations
from lifeceo.platform.cache.redis_tier import REDIS_FAILURES, L2Entry, RedisTier
from lifeceo.platform.cache.stats import CacheStats
from lifeceo.platform.observability import loop_lag

T = TypeVar("T")
F = TypeVar("F")
log = structlog.get_logger(__name__)
# Cross-process single-flight: the lock outlives any sane computation (a feed page takes tens
# of ms); a process that finds it taken polls L2 for at most LOCK_WAIT_SECONDS, then computes
# anyway, so a holder that died or hangs costs a short wait, never a failed request.
LOCK_TTL_SECONDS = 5.0
LOCK_WAIT_SECONDS = 2.0
POLL_FIRST_SECONDS = 0.005
POLL_MAX_SECONDS = 0.05
_FAILED = object()


class GuardedL2:
    def __init__(self, redis: RedisTier, breaker: CircuitBreaker, *, stats: CacheStats,
                 origin: str) -> None:
        self.redis = redis
        self.breaker = breaker
        self.pending = PendingL2Invalidations()
        self._stats = stats
        self._origin = origin
        self._probe: asyncio.Task | None = None

    @property
    def available(self) -> bool:
        return self.breaker.closed

    async def call(self, op: Callable[[], Awaitable[T]], *, fallback: F, namespace: str = "",
                   trip: bool = False) -> T | F:
        """`op()` if the breaker allows it and it succeeds in time, else `fallback`. `trip` opens
        the breaker on this one failure: used where a lost write would let L2 serve stale data."""
        if not self.breaker.closed:
            return fallback
        started = time.monotonic()
        try:
            result = await op()
        except REDIS_FAILURES as exc:
            if namespace:
                self._stats.count(namespace, "l2", "errors")
            self._failed(exc, force=trip, started_at=started)
            return fallback
        self.breaker.record_success()
        return result

    async def get(self, key: str, *, namespace: str, fallback: F = None) -> L2Entry | None | F:
        """The entry; None when absent; `fallback` when L2 cannot be used."""
        return await self.call(partial(self.redis.get, key), fallback=fallback,
                               namespace=namespace)

    async def claim_or_wait(self, key: str, *, namespace: str) -> tuple[L2Entry | None, str | None]:
        """Take the cluster-wide compute lock of `key` (its token), or wait for the holder to
        store the value (the entry); (None, None): compute without the lock."""
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        pause = POLL_FIRST_SECONDS
        waited = False
        while True:
            token = await self.call(partial(self.redis.acquire_lock, key, ttl=LOCK_TTL_SECONDS),
                                    fallback=_FAILED, namespace=namespace)
            if token is _FAILED:
                return None, None
            if token is not None:
                # Freed by a holder that may just have stored the value.
                entry = await self.get(key, namespace=namespace) if waited else None
                if entry is not None:
                    await self.release(key, token, namespace=namespace)
                    return entry, None
                return None, token
            if time.monotonic() + pause > deadline:
                return None, None
            await asyncio.sleep(pause)
            waited = True
            pause = min(pause * 2, POLL_MAX_SECONDS)
            entry = await self.get(key, namespace=namespace)
            if entry is not None:
                return entry, None

    async def release(self, key: str, token: str, *, namespace: str) -> None:
        await self.call(partial(self.redis.release_lock, key, token), fallback=None,
                        namespace=namespace)

    async def invalidate(self, *, tags: Sequence[str], keys: Sequence[str]) -> bool:
        """Drop from L2 now, or remember it for the replay before L2 is used again."""
        if self.breaker.closed:
            async def drop() -> bool:
                await self.redis.invalidate(tags)
                await self.redis.delete(keys)
                return True

            if await self.call(drop, fallback=False, trip=True):
                return True
        self.pending.add(tags=tags, keys=keys)
        return False

    async def connect(self) -> None:
        """Open the pool and read the current generation (at startup and in every probe)."""
        await self.redis.fill_pool()
        await self.redis.load_generation()

    def trip(self, error: BaseException) -> None:
        self._failed(error, force=True)

    def hold(self, state: BreakerState, *, until: float) -> None:
        """The breaker lever: held open, requests skip Redis until `until` or a release."""
        self.breaker.hold(state, until=until)
        if state is BreakerState.OPEN:
            self._failed(ConnectionError("held open by an operator"), force=True)

    def _failed(self, error: BaseException, *, force: bool = False,
                started_at: float | None = None) -> None:
        if self.breaker.record_failure(error, force=force, started_at=started_at,
                                       loop_lag_seconds=loop_lag.monitor().recent()):
            self._probe = asyncio.get_running_loop().create_task(self._probe_until_closed())

    async def _probe_until_closed(self) -> None:
        while True:
            await asyncio.sleep(self.breaker.probe_delay())
            if self.breaker.held is BreakerState.OPEN:
                continue
            self.breaker.probe_started()
            try:
                await self.connect()
                await self._replay_pending()
            except REDIS_FAILURES:
                self.breaker.probe_failed()
                continue
            # No await since the replay found nothing pending: closing here cannot skip an
            # invalidation recorded meanwhile.
            self.breaker.probe_succeeded()
            return

    async def _replay_pending(self) -> None:
        while self.pending:
            tags, keys, overflowed = self.pending.take()
            try:
                if overflowed:
                    generation = await self.redis.bump_generation()
                    log.warning("cache L2 generation dropped: too many invalidations missed",
                                generation=generation)
                    await self.redis.publish(
                        Invalidation(self._origin, generation=generation).encode())
                else:
                    await self.redis.invalidate(tags)
                    await self.redis.delete(keys)
            except BaseException:
                self.pending.put_back(tags, keys, overflowed)
                raise

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            await asyncio.gather(self._probe, return_exceptions=True)
        await self.redis.close()
