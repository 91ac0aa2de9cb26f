"""Many cache entries at once: each through get_or_compute, the misses loaded by one batch call.

Storing rows read beforehand with `Cache.set` would be simpler, but a write committed between the
read and the set would leave its stale value cached for the whole TTL. get_or_compute notes the
invalidations it has seen before calling its loader and stores nothing if one of the entry's keys
or tags was invalidated since; so each miss calls in through get_or_compute, and the batch is read
only once every miss has called in (or been served another way)."""

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from lifeceo.platform.cache import MISSING, Cache, not_composable

K = TypeVar("K", bound=Hashable)
Load = Callable[[list[K]], Awaitable[Mapping[K, Any]]]
# With Redis, a miss may wait up to seconds for another process's compute lock; misses that
# called in are read after this long rather than wait for it (the late ones form a new batch).
BATCH_WAIT_SECONDS = 0.005
_ABSENT = object()


class _Absent(Exception):
    """The loader did not return the item: it does not exist, and nothing is cached for it."""


class _Batches(Generic[K]):
    def __init__(self, load: Load[K], outstanding: int) -> None:
        self._load = load
        # Misses that have neither called in nor been served another way.
        self._outstanding = outstanding
        self._waiting: dict[K, asyncio.Future] = {}
        self._timer: asyncio.TimerHandle | None = None
        # One read at a time: the loader uses the request's session.
        self._lock = asyncio.Lock()
        self.reads: set[asyncio.Task] = set()

    async def value_of(self, item: K) -> Any:
        future = asyncio.get_running_loop().create_future()
        self._waiting[item] = future
        self._outstanding -= 1
        self._read_when_ready()
        return await future

    def served_otherwise(self) -> None:
        self._outstanding -= 1
        self._read_when_ready()

    def _read_when_ready(self) -> None:
        if not self._waiting:
            return
        if self._outstanding == 0:
            self._read()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(BATCH_WAIT_SECONDS, self._read)

    def _read(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._waiting = self._waiting, {}
        if batch:
            task = asyncio.get_running_loop().create_task(self._read_batch(batch))
            self.reads.add(task)
            task.add_done_callback(self.reads.discard)

    async def _read_batch(self, batch: dict[K, asyncio.Future]) -> None:
        try:
            async with self._lock:
                loaded = await self._load(list(batch))
        except asyncio.CancelledError:
            for future in batch.values():
                future.cancel()
            raise
        except Exception as exc:  # noqa: BLE001 - each waiter raises it in its own request
            for future in batch.values():
                if not future.done():
                    future.set_exception(exc)
            return
        for item, future in batch.items():
            if not future.done():
                if item in loaded:
                    future.set_result(loaded[item])
                else:
                    future.set_exception(_Absent())


async def _connected(session: AsyncSession) -> None:
    """Check the request's session's connection out before reading through the cache with a
    loader that uses it.

    The request that loads a key makes every other request wanting it wait. Were that leader
    still to wait for a pooled connection while the waiting requests hold all of them (an
    authenticated request holds one from its session lookup on), none would proceed until the
    pool timed out: seen with 90 concurrent reads on a pool of 20. A read this process holds
    waits for nobody, so it needs no connection."""
    await session.connection()


async def cached(cache: Cache, session: AsyncSession, key: str, load: Callable[[], Awaitable[Any]],
                 *, ttl: float, tags: Iterable[str] = (),
                 refresh: Callable[[], Awaitable[Any]] | None = None) -> Any:
    """The cached value of `key`, else `load()` (which may use `session`) cached. With
    `refresh` (which must not use `session`: see `own_session`), the key is one the cache may
    warm (Cache.warm, after the request)."""
    value = cache.get_local(key)
    if value is MISSING:
        await _connected(session)
        value = await cache.get_or_compute(key, load, ttl=ttl, tags=tags, refresh=refresh)
    return value


def own_session(engine: AsyncEngine) -> AsyncSession:
    """A session of its own, for a `refresh` that runs after the request has closed its own
    (take the engine from the request's session: a closed session is no use to keep)."""
    return AsyncSession(engine, expire_on_commit=False, autoflush=False)


async def composed(cache: Cache, key: str, render: Callable[[], Awaitable[Any]]) -> Any:
    """The JSON-ready value `render()` makes, kept whole under `key` by this process when it
    was made of cached entries only, until one of them is invalidated or expires: a page read
    again costs one lookup instead of its parts and their models. `key` names everything else
    the value depends on (the viewer, the page asked for)."""
    value = cache.get_local(key)
    if value is not MISSING:
        return value
    read_since = cache.mark()
    with cache.composing() as parts:
        value = await render()
    cache.set_composed(key, value, parts, read_since=read_since)
    return value


# A statement run while a value is composed means it read something the cache did not hold.
event.listen(Engine, "before_cursor_execute", lambda *_args: not_composable())


async def cached_many(cache: Cache, session: AsyncSession, keys: Mapping[K, str], load: Load[K],
                      *, ttl: float,
                      tags: Callable[[K], Iterable[str]] = lambda item: ()) -> dict[K, Any]:
    """The value of each item (`keys` maps it to its cache key) that exists: cached ones from
    the cache, the others from `load(missing items)`, which may use `session`, returns those
    that exist and is called once unless some misses are held up elsewhere (another request's
    load, a lock)."""
    if not keys:
        return {}
    # Most reads find every entry in this process: no task per item, no connection, for those.
    held = {item: cache.get_local(key) for item, key in keys.items()}
    keys = {item: key for item, key in keys.items() if held[item] is MISSING}
    if not keys:
        return held
    await _connected(session)
    if not cache.enabled:
        return dict(await load(list(keys)))
    batches: _Batches[K] = _Batches(load, outstanding=len(keys))

    async def one(item: K) -> Any:
        called_in = False

        async def compute() -> Any:
            nonlocal called_in
            called_in = True
            return await batches.value_of(item)

        try:
            return await cache.get_or_compute(keys[item], compute, ttl=ttl, tags=tags(item))
        except _Absent:
            return _ABSENT
        finally:
            if not called_in:
                batches.served_otherwise()

    items = list(keys)
    try:
        values = await asyncio.gather(*(one(item) for item in items))
    finally:
        # Cancelled (the client went away): no read may outlive the request's session.
        for task in list(batches.reads):
            task.cancel()
        await asyncio.gather(*batches.reads, return_exceptions=True)
    loaded = dict(zip(items, values))
    return {item: loaded[item] if value is MISSING else value for item, value in held.items()
            if loaded.get(item) is not _ABSENT}
