"""The cache: L1 per process in front of an optional Redis L2, single-flight loads, tag
invalidation that reaches every process, windowed stats and warming of hot keys."""

import asyncio
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any

import orjson
import structlog
from redis.asyncio import ConnectionPool
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from lifeceo.platform.cache.breaker import BreakerState, CircuitBreaker
from lifeceo.platform.cache.bus_postgres import PostgresBus
from lifeceo.platform.cache.bus_redis import RedisSubscriber
from lifeceo.platform.cache.invalidation import Invalidation, InvalidationLog, names
from lifeceo.platform.cache.l1 import L1Store
from lifeceo.platform.cache.l2 import GuardedL2
from lifeceo.platform.cache.redis_tier import L2Entry, RedisTier
from lifeceo.platform.cache.singleflight import SingleFlight
from lifeceo.platform.cache.stats import CacheStats, namespace_of
from lifeceo.platform.cache.validation import MAX_TTL_SECONDS, checked_entry, checked_names
from lifeceo.platform.cache.warming import WARM_AHEAD_FRACTION, Compute, HotKey, HotKeys
from lifeceo.platform.observability import loop_lag
from lifeceo.settings import Settings

log = structlog.get_logger(__name__)
# start() waits this long for the invalidation listeners, then carries on (they keep trying).
BUS_READY_SECONDS = 2.0
_FAILED = object()


class Composition:
    """The cached entries a value is made of: their keys, their tags, the soonest expiry."""

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.tags: set[str] = set()
        self.expires_in = float("inf")
        # False once a part came from anywhere but this process's cache (a load, L2, a query).
        self.complete = True

    def add(self, key: str, tags: tuple[str, ...], expires_in: float) -> None:
        self.keys.add(key)
        self.tags.update(tags)
        self.expires_in = min(self.expires_in, expires_in)


# The composition being noted by the running task, if any.
_composition: ContextVar[Composition | None] = ContextVar("cache_composition", default=None)


def not_composable() -> None:
    """Tell the composition being noted, if any, that its value read something the cache did
    not hold."""
    composition = _composition.get()
    if composition is not None:
        composition.complete = False


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


# What get() returns for a key that is not cached (None is a value that can be cached).
MISSING: Any = _Missing()


class Cache:
    def __init__(self, *, enabled: bool = True, l1_max_entries: int = 20_000,
                 l1_max_bytes: int = 32 * 1024 * 1024, redis_url: str | None = None,
                 redis_timeout_seconds: float = 0.05, breaker_failures: int = 3,
                 breaker_probe_seconds: float = 0.5, breaker_probe_max_seconds: float = 5.0,
                 stats_min_samples: int = 100, database_url: str | None = None,
                 engine: AsyncEngine | None = None) -> None:
        self.enabled = enabled
        # Set at runtime by the life-ceo-performance flag: reads and writes skip the cache, but
        # invalidations still run, so that nothing is stale when it resumes.
        self.paused = False
        # Tells this process's own messages apart when they come back over a bus.
        self.origin = uuid.uuid4().hex
        self.stats = CacheStats(min_samples=stats_min_samples)
        self._l1 = L1Store(max_entries=l1_max_entries, max_bytes=l1_max_bytes)
        self._log = InvalidationLog()
        self._hot = HotKeys()
        self._flights = SingleFlight()
        self._l2: GuardedL2 | None = None
        self._redis_bus: RedisSubscriber | None = None
        self._pg_bus: PostgresBus | None = None
        if redis_url:
            breaker = CircuitBreaker(name="cache-redis", failures=breaker_failures,
                                     probe_seconds=breaker_probe_seconds,
                                     probe_max_seconds=breaker_probe_max_seconds)
            self._l2 = GuardedL2(RedisTier(redis_url, timeout_seconds=redis_timeout_seconds),
                                 breaker, stats=self.stats, origin=self.origin)
            self._redis_bus = RedisSubscriber(redis_url, on_message=self._on_message,
                                              on_gap=self._on_gap,
                                              reconnect_max_seconds=breaker_probe_max_seconds)
        if database_url and engine is not None:
            self._pg_bus = PostgresBus(database_url=database_url, engine=engine,
                                       on_message=self._on_message, on_gap=self._on_gap)

    @property
    def serving(self) -> bool:
        return self.enabled and not self.paused

    @classmethod
    def from_settings(cls, settings: Settings, *, engine: AsyncEngine) -> "Cache":
        return cls(enabled=settings.cache_enabled, l1_max_entries=settings.cache_l1_max_entries,
                   l1_max_bytes=settings.cache_l1_max_bytes, redis_url=settings.redis_url,
                   redis_timeout_seconds=settings.cache_redis_timeout_ms / 1000,
                   breaker_failures=settings.cache_breaker_failures,
                   breaker_probe_seconds=settings.cache_breaker_probe_seconds,
                   breaker_probe_max_seconds=settings.cache_breaker_probe_max_seconds,
                   stats_min_samples=settings.cache_stats_min_samples,
                   database_url=settings.database_listen_url or settings.database_url,
                   engine=engine)

    async def start(self) -> None:
        """Read the L2 generation and start the invalidation listeners (never fails on Redis)."""
        if self._l2 is not None and self._redis_bus is not None:
            # Redis down at startup: open the breaker at once rather than after three requests.
            await self._l2.call(self._l2.connect, fallback=None, trip=True)
            self._redis_bus.start()
        if self._pg_bus is not None:
            self._pg_bus.start()
        waits = [bus.listening.wait() for bus in self._buses()]
        try:
            async with asyncio.timeout(BUS_READY_SECONDS):
                await asyncio.gather(*waits)
        except TimeoutError:
            log.warning("cache invalidation listeners not ready yet; they keep retrying")

    async def close(self) -> None:
        for bus in (self._redis_bus, self._pg_bus):
            if bus is not None:
                await bus.stop()
        if self._l2 is not None:
            await self._l2.close()

    async def get(self, key: str) -> Any:
        """The cached value, or MISSING."""
        checked_entry(key)
        if not self.serving:
            return MISSING
        namespace = namespace_of(key)
        data = self._l1_get(key, namespace)
        if data is None:
            seq = self._log.seq
            entry = await self._l2_get(key, namespace)
            if entry is not None:
                self._fill_l1(key, namespace, entry, seq)
                data = entry.data
        self.stats.lookup(namespace, hit=data is not None)
        return MISSING if data is None else orjson.loads(data)

    def get_local(self, key: str) -> Any:
        """The value if this process holds it, else MISSING; never waits (a miss is not
        counted: the caller goes on to get_or_compute, which counts it)."""
        if not self.serving or key not in self._l1:
            not_composable()
            return MISSING
        namespace = namespace_of(key)
        data = self._l1_get(key, namespace)
        if data is None:  # expired just now
            return MISSING
        self.stats.lookup(namespace, hit=True)
        return orjson.loads(data)

    @contextmanager
    def composing(self) -> Iterator[Composition]:
        """Note the entries read in this block (in this task and those it starts), for
        `set_composed`: a value made of them is valid exactly as long as all of them are."""
        composition = Composition()
        token = _composition.set(composition)
        try:
            yield composition
        finally:
            _composition.reset(token)

    def set_composed(self, key: str, value: Any, composition: Composition, *,
                     read_since: int) -> bool:
        """Keep `value`, made in `composing()` from cached entries, in this process until one
        of them is invalidated or expires; nothing if some part was not a cached entry or was
        invalidated since `read_since`. Every process makes its own: none goes to L2."""
        parts = names(composition.keys, composition.tags)
        if (not self.serving or not composition.complete or not composition.keys
                or composition.expires_in <= 0 or self._log.touched_since(read_since, parts)):
            return False
        checked_entry(key)
        self._l1_set(key, namespace_of(key), orjson.dumps(value),
                     ttl=min(composition.expires_in, MAX_TTL_SECONDS),
                     tags=(*composition.tags, *composition.keys))
        return True

    def mark(self) -> int:
        """A point in this process's record of invalidations, for `set(..., read_since=)`."""
        return self._log.seq

    async def set(self, key: str, value: Any, *, ttl: float, tags: Iterable[str] = (),
                  read_since: int | None = None) -> None:
        """Store `value`. With `read_since` (a `mark()` taken before the value was read), store
        nothing if the key or one of the tags was invalidated since: the value may predate the
        write. For a value whose tags are only known once it is read; otherwise get_or_compute."""
        tags = checked_entry(key, ttl=ttl, tags=tags)
        data = orjson.dumps(value)
        if not self.serving or (
                read_since is not None and self._log.touched_since(read_since, names([key], tags))):
            return
        await self._store(key, namespace_of(key), data, ttl=ttl, tags=tags)

    async def delete(self, key: str) -> None:
        """Drop one key in every process and in L2."""
        await self.invalidate(keys=[key])

    async def get_or_compute(self, key: str, fn: Compute, *, ttl: float, tags: Iterable[str] = (),
                             refresh: Compute | None = None) -> Any:
        """The cached value, or `await fn()` cached for `ttl` seconds under `tags`; concurrent
        callers of one key share one computation per process, and (with Redis) mostly per
        cluster. `refresh` lets `warm()` recompute the key: unlike `fn`, which may use the
        request's session, it must work on its own (open its own session)."""
        tags = checked_entry(key, ttl=ttl, tags=tags)
        if not self.serving:
            return await fn()
        namespace = namespace_of(key)
        if refresh is not None:
            self._hot.touch(key, refresh, ttl=ttl, tags=tags)
        data = self._l1_get(key, namespace)
        if data is not None:
            self.stats.lookup(namespace, hit=True)
            return orjson.loads(data)
        data = await self._flights.join(key)
        if data is not None:
            self.stats.lookup(namespace, hit=True, coalesced=True)
            return orjson.loads(data)
        data, hit = await self._flights.lead(
            key, partial(self._load, key, namespace, fn, ttl=ttl, tags=tags))
        self.stats.lookup(namespace, hit=hit)
        return orjson.loads(data)

    async def invalidate(self, *, tags: Iterable[str] = (), keys: Iterable[str] = (),
                         session: AsyncSession | None = None) -> None:
        """Drop every entry with one of `tags`, and `keys`, in every process and in L2. With
        `session`, the other processes hear of it when that transaction commits (and this one
        drops again then), so none can cache the pre-commit value in between."""
        tags, keys = checked_names(tags=tags, keys=keys)
        if not self.enabled or not (tags or keys):
            return
        self._drop_local(tags, keys)
        l2_done = True if self._l2 is None else await self._l2.invalidate(tags=tags, keys=keys)
        if session is not None and self._pg_bus is not None:
            message = Invalidation(self.origin, tags, keys, l2_done=False, apply_at_origin=True)
            await self._pg_bus.publish_in(session, message.payloads())
            return
        await self._publish(Invalidation(self.origin, tags, keys, l2_done=l2_done))

    async def warm(self, *, limit: int = 100, ahead_seconds: float | None = None,
                   namespace: str | None = None, decay: bool = True) -> int:
        """Recompute up to `limit` of this process's hottest keys (by recent reads), of one
        namespace if given, that are missing or expire within `ahead_seconds` (default: a fifth
        of their TTL); returns how many were refreshed. Only keys read through
        get_or_compute(..., refresh=...) are known. Then hotness decays, unless `decay` is
        false: the warm-cache job's period is its clock, and a warm between two runs (the warm
        lever's) must not age the keys faster."""
        if not self.serving:
            return 0
        refreshed = 0
        for key, hot in self._hot.hottest(namespace=namespace):
            if refreshed >= limit:
                break
            remaining = self._l1.remaining_seconds(key)
            ahead = hot.ttl * WARM_AHEAD_FRACTION if ahead_seconds is None else ahead_seconds
            if (remaining is not None and remaining > ahead) or key in self._flights:
                continue
            try:
                await self._flights.lead(key, partial(self._recompute, key, hot))
            except Exception as exc:  # noqa: BLE001 - one key's failure must not stop the periodic job
                log.warning("cache warm failed", key=key, error=f"{type(exc).__name__}: {exc}")
                continue
            refreshed += 1
        if decay:
            self._hot.decay()
        return refreshed

    @property
    def l2_state(self) -> str:
        return "not_configured" if self._l2 is None else self._l2.breaker.state.value

    @property
    def l2_held(self) -> str | None:
        held = None if self._l2 is None else self._l2.breaker.held
        return None if held is None else held.value

    def redis_reachable(self) -> bool | None:
        """Whether this process reaches Redis, as its breaker judges (closed: yes); None without
        Redis or while the breaker lever holds it, when the state says nothing of Redis."""
        if self._l2 is None or self._l2.breaker.held is not None:
            return None
        return self._l2.breaker.state is BreakerState.CLOSED

    async def redis_round_trip(self) -> float | None:
        """A PING of the cache's Redis, less the time the event loop was busy meanwhile, as the
        metrics history measures the database's round trip each interval; None without Redis,
        with its breaker not closed (nothing to measure), or when the PING fails."""
        if self._l2 is None or self._l2.breaker.state is not BreakerState.CLOSED:
            return None
        started = time.monotonic()
        try:
            await self._l2.redis.ping()
        except Exception:  # noqa: BLE001 - the breaker hears of failures on the request path
            return None
        return loop_lag.on_time_since(started)

    def hold_l2(self, state: BreakerState, *, until: float) -> None:
        """The breaker lever; nothing without L2."""
        if self._l2 is not None:
            self._l2.hold(state, until=until)

    def release_l2(self) -> None:
        if self._l2 is not None:
            self._l2.breaker.release()

    @property
    def redis_pool(self) -> ConnectionPool | None:
        """L2's connection pool (fault injection's redis_outage); None without Redis."""
        return None if self._l2 is None else self._l2.redis.client.connection_pool

    async def drop_namespace(self, namespace: str, *, turn_seconds: float) -> int:
        """Forget a namespace's entries in this process's L1, without announcing it, and in L2
        where this process takes the turn (fault injection's cold_cache, which runs in every
        process every second); the entries dropped. L2 is shared: one SCAN per turn of
        `turn_seconds` empties it for all, where one per process multiplied them."""
        keys = tuple(key for key in self._l1.keys() if namespace_of(key) == namespace)
        self._drop_local((), keys)
        dropped = len(keys)
        if self._l2 is not None and await self._l2.call(
                partial(self._l2.redis.acquire_lock, f"cold_cache:{namespace}",
                        ttl=turn_seconds), fallback=None, namespace=namespace) is not None:
            dropped += await self._l2.call(partial(self._l2.redis.delete_namespace, namespace),
                                           fallback=0, namespace=namespace)
        return dropped

    @property
    def l2_outage_seconds(self) -> float | None:
        opened = None if self._l2 is None else self._l2.breaker.opened_at
        return None if opened is None else round(time.monotonic() - opened, 3)

    @property
    def l1_entries(self) -> int:
        return len(self._l1)

    @property
    def l1_bytes(self) -> int:
        return self._l1.memory_bytes

    def bus_status(self) -> dict[str, bool]:
        """Per configured bus, whether its listener is connected."""
        status = {}
        if self._redis_bus is not None:
            status["redis"] = self._redis_bus.listening.is_set()
        if self._pg_bus is not None:
            status["postgres"] = self._pg_bus.listening.is_set()
        return status

    def report(self) -> dict[str, object]:
        """Everything the admin API shows: sizes, L2 state, listeners and windowed stats."""
        return {
            "enabled": self.enabled,
            "l1": {"entries": self.l1_entries, "bytes": self.l1_bytes,
                   "max_entries": self._l1.max_entries, "max_bytes": self._l1.max_bytes},
            "l2": {"state": self.l2_state, "outage_seconds": self.l2_outage_seconds,
                   "generation": None if self._l2 is None else self._l2.redis.generation,
                   "pending_invalidations": 0 if self._l2 is None else len(self._l2.pending)},
            "bus": self.bus_status(),
            "hot_keys": len(self._hot),
            **self.stats.snapshot(),
        }

    def _buses(self) -> list[PostgresBus | RedisSubscriber]:
        buses: list[PostgresBus | RedisSubscriber] = []
        if self._redis_bus is not None and self._l2 is not None and self._l2.available:
            buses.append(self._redis_bus)
        if self._pg_bus is not None:
            buses.append(self._pg_bus)
        return buses

    async def _load(self, key: str, namespace: str, fn: Compute, *, ttl: float,
                    tags: tuple[str, ...]) -> tuple[bytes, bool]:
        """L2, else the value another process is computing, else compute; (bytes, was a hit)."""
        seq = self._log.seq
        entry = await self._l2_get(key, namespace, count=False)
        token = None
        if entry is None and self._l2 is not None and self._l2.available:
            entry, token = await self._l2.claim_or_wait(key, namespace=namespace)
        if entry is not None:
            self.stats.count(namespace, "l2", "hits")
            self._fill_l1(key, namespace, entry, seq)
            return entry.data, True
        if self._l2 is not None:
            self.stats.count(namespace, "l2", "misses")
        try:
            data = orjson.dumps(await fn())
            # Invalidated while computing: the value may predate the write, so do not keep it.
            if not self._log.touched_since(seq, names([key], tags)):
                await self._store(key, namespace, data, ttl=ttl, tags=tags)
            return data, False
        finally:
            if token is not None:
                await self._l2.release(key, token, namespace=namespace)

    async def _recompute(self, key: str, hot: HotKey) -> tuple[bytes, bool]:
        seq = self._log.seq
        data = orjson.dumps(await hot.refresh())
        if not self._log.touched_since(seq, names([key], hot.tags)):
            await self._store(key, namespace_of(key), data, ttl=hot.ttl, tags=hot.tags)
        return data, False

    def _l1_get(self, key: str, namespace: str) -> bytes | None:
        """The entry's bytes from L1, noted in the composition being made, if any."""
        entry = self._l1.entry(key)
        self.stats.count(namespace, "l1", "misses" if entry is None else "hits")
        if entry is None:
            not_composable()
            return None
        composition = _composition.get()
        if composition is not None:
            composition.add(key, entry.tags, entry.expires_at - time.monotonic())
        return entry.data

    async def _l2_get(self, key: str, namespace: str, *, count: bool = True) -> L2Entry | None:
        if self._l2 is None or not self._l2.available:
            return None
        entry = await self._l2.get(key, namespace=namespace, fallback=_FAILED)
        if entry is _FAILED:  # counted as an error by the L2 tier, not as a miss
            return None
        if count:
            self.stats.count(namespace, "l2", "misses" if entry is None else "hits")
        return entry

    def _fill_l1(self, key: str, namespace: str, entry: L2Entry, seq: int) -> None:
        if not self._log.touched_since(seq, names([key], entry.tags)):
            self._l1_set(key, namespace, entry.data, ttl=entry.remaining_seconds, tags=entry.tags)

    def _l1_set(self, key: str, namespace: str, data: bytes, *, ttl: float,
                tags: tuple[str, ...]) -> None:
        evicted = self._l1.set(key, data, ttl=ttl, tags=tags)
        self.stats.count(namespace, "l1", "sets")
        for evicted_key in evicted:
            self.stats.count(namespace_of(evicted_key), "l1", "evictions")

    async def _store(self, key: str, namespace: str, data: bytes, *, ttl: float,
                     tags: tuple[str, ...]) -> None:
        self._l1_set(key, namespace, data, ttl=ttl, tags=tags)
        if self._l2 is not None:
            stored = await self._l2.call(partial(self._l2_set, key, data, ttl=ttl, tags=tags),
                                         fallback=False, namespace=namespace)
            if stored:
                self.stats.count(namespace, "l2", "sets")

    async def _l2_set(self, key: str, data: bytes, *, ttl: float, tags: tuple[str, ...]) -> bool:
        assert self._l2 is not None
        await self._l2.redis.set(key, data, ttl=ttl, tags=tags)
        return True

    def _drop_local(self, tags: tuple[str, ...], keys: tuple[str, ...]) -> None:
        self._log.record(names(keys, tags))
        # Composed entries are tagged with the keys they were made of, too.
        self._l1.drop_tags((*tags, *keys))
        for key in keys:
            self._l1.delete(key)

    async def _publish(self, message: Invalidation) -> None:
        if self._l2 is not None and self._l2.available:
            published = await self._l2.call(partial(self._redis_publish, message.encode()),
                                            fallback=False)
            if published:
                return
        if self._pg_bus is not None:
            try:
                await self._pg_bus.publish(message.payloads())
            except (SQLAlchemyError, OSError) as exc:
                log.warning("cache invalidation not published", error=f"{type(exc).__name__}: {exc}")

    async def _redis_publish(self, payload: bytes) -> bool:
        assert self._l2 is not None
        await self._l2.redis.publish(payload)
        return True

    async def _on_message(self, payload: bytes) -> None:
        try:
            message = Invalidation.decode(payload)
        except (ValueError, KeyError, TypeError):
            log.warning("malformed cache invalidation ignored", payload=payload[:200])
            return
        try:
            await self._apply(message)
        except Exception:  # a listener that died would leave this process stale for good
            log.exception("cache invalidation could not be applied")

    async def _apply(self, message: Invalidation) -> None:
        if message.generation is not None and self._l2 is not None:
            self._l2.redis.generation = max(self._l2.redis.generation, message.generation)
        if message.origin == self.origin and not message.apply_at_origin:
            return
        if message.tags or message.keys:
            self._drop_local(message.tags, message.keys)
            if not message.l2_done and self._l2 is not None:
                await self._l2.invalidate(tags=message.tags, keys=message.keys)

    async def clear_local(self) -> None:
        """Forget this process's entries and statistics, and distrust loads in flight: what the
        cache held no longer describes the data (the test suite empties its tables)."""
        await self._on_gap()
        self.stats.reset()

    async def _on_gap(self) -> None:
        """A listener reconnected: invalidations may have been missed, so L1 is not trusted."""
        self._log.record_everything()
        self._l1.clear()
        if self._l2 is not None:
            await self._l2.call(self._l2.redis.load_generation, fallback=None)

