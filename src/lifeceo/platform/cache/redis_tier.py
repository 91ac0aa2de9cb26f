"""The shared tier: Redis with a tag index, a generation prefix and short-lived compute locks.

Every call is bounded by the configured timeout of event-loop time (loop_lag.wait_for); callers
pass failures to the circuit breaker."""

import asyncio
import secrets
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import orjson
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.driver_info import DriverInfo

from lifeceo.platform.observability import loop_lag

# What a Redis call may raise (none of it ever reaches a request); re-exported for the L2 tier.
from lifeceo.platform.pubsub.redis import REDIS_FAILURES  # noqa: F401

T = TypeVar("T")
PREFIX = "lifeceo:cache"
CHANNEL = f"{PREFIX}:bus"
GENERATION_KEY = f"{PREFIX}:generation"
POOL_SIZE = 16
# An invalidation that fails opens the breaker at once (a lost one would let L2 serve stale
# data), so it waits longer than a read, which can fall back to computing the value: this many
# timeouts of on-time loop (Redis itself starved of CPU on a saturated machine took over 50 ms),
# and out a lagging loop for up to WRITE_PATIENCE_SECONDS.
WRITE_TIMEOUTS = 10
WRITE_PATIENCE_SECONDS = 5.0
# redis-py's own timeouts are only a backstop behind wait_for's: they are timed on the same loop,
# and would expire whenever it is busy elsewhere.
BACKSTOP_SECONDS = 2 * WRITE_PATIENCE_SECONDS

# Deletes every key listed in each tag's set, then the set. Members are deleted in slices because
# Lua's unpack() is limited to a few thousand arguments.
_INVALIDATE = """
local deleted = 0
for _, tag_key in ipairs(KEYS) do
  local members = redis.call('SMEMBERS', tag_key)
  for first = 1, #members, 1000 do
    deleted = deleted + redis.call('DEL', unpack(members, first, math.min(first + 999, #members)))
  end
  redis.call('DEL', tag_key)
end
return deleted
"""
# Only the holder releases a lock: after its TTL another process may hold it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(slots=True)
class L2Entry:
    data: bytes
    tags: tuple[str, ...]
    remaining_seconds: float


def envelope(data: bytes, tags: tuple[str, ...]) -> bytes:
    """Tags travel with the value so that a process reading it from L2 indexes them in its L1.
    orjson never writes a raw newline, so the first one separates the two parts."""
    return orjson.dumps(tags) + b"\n" + data


def open_envelope(raw: bytes) -> tuple[bytes, tuple[str, ...]]:
    tags, _, data = raw.partition(b"\n")
    return data, tuple(orjson.loads(tags))


class RedisTier:
    def __init__(self, url: str, *, timeout_seconds: float) -> None:
        self.timeout = timeout_seconds
        backstop = max(BACKSTOP_SECONDS, 2 * timeout_seconds * loop_lag.PATIENCE_TIMEOUTS)
        # A small pool, opened before use (`fill_pool`): opening a connection costs a few ms of
        # handshake, so a burst of misses on a cold, unbounded pool blew the 50 ms budget
        # (measured: 20 concurrent first calls took 55-150 ms; warm ones 2-5 ms). A command
        # takes ~0.2 ms, so 16 connections serve far more than one process asks of them.
        pool = BlockingConnectionPool.from_url(
            url, max_connections=POOL_SIZE, timeout=backstop,
            socket_timeout=backstop, socket_connect_timeout=backstop,
            # One retry without delay: after a Redis restart each pooled connection fails once
            # before reconnecting, which is not worth counting as an outage.
            retry=Retry(NoBackoff(), 1),
            # No CLIENT SETINFO round trips on every new connection.
            driver_info=DriverInfo(name=None, lib_version=None), client_name="lifeceo-cache")
        # from_pool: the client owns the pool and closes it in aclose().
        self.client = Redis.from_pool(pool)
        # Bumped (INCR) when invalidations missed during an outage were too many to replay:
        # every key of the old generation becomes unreachable at once and expires by its TTL.
        self.generation = 0
        self._invalidate = self.client.register_script(_INVALIDATE)
        self._release = self.client.register_script(_RELEASE)

    async def _bounded(self, call: Awaitable[T], *, write: bool = False) -> T:
        if write:
            return await loop_lag.wait_for(call, self.timeout * WRITE_TIMEOUTS,
                                           patience_seconds=WRITE_PATIENCE_SECONDS)
        return await loop_lag.wait_for(call, self.timeout)

    def _key(self, key: str) -> str:
        return f"{PREFIX}:{self.generation}:k:{key}"

    def _tag(self, tag: str) -> str:
        return f"{PREFIX}:{self.generation}:t:{tag}"

    def _lock(self, key: str) -> str:
        return f"{PREFIX}:{self.generation}:lock:{key}"

    async def get(self, key: str) -> L2Entry | None:
        async def read() -> list:
            async with self.client.pipeline(transaction=False) as pipe:
                return await pipe.get(self._key(key)).pttl(self._key(key)).execute()

        raw, remaining_ms = await self._bounded(read())
        if raw is None or remaining_ms <= 0:
            return None
        data, tags = open_envelope(raw)
        return L2Entry(data, tags, remaining_ms / 1000)

    async def set(self, key: str, data: bytes, *, ttl: float, tags: tuple[str, ...]) -> None:
        ttl_ms = max(int(ttl * 1000), 1)
        full_key = self._key(key)

        async def write() -> None:
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.set(full_key, envelope(data, tags), px=ttl_ms)
                for tag in tags:
                    tag_key = self._tag(tag)
                    pipe.sadd(tag_key, full_key)
                    # A tag's set lives as long as its longest-lived key: NX sets the first TTL,
                    # GT only ever extends it.
                    pipe.pexpire(tag_key, ttl_ms, nx=True)
                    pipe.pexpire(tag_key, ttl_ms, gt=True)
                await pipe.execute()

        await self._bounded(write())

    async def delete(self, keys: Sequence[str]) -> None:
        if keys:
            await self._bounded(self.client.delete(*(self._key(key) for key in keys)), write=True)

    async def delete_namespace(self, namespace: str) -> int:
        """Delete every key of a namespace (SCAN, not KEYS: Redis keeps serving meanwhile)."""
        async def scan_and_delete() -> int:
            deleted = 0
            async for batch in _batches(self.client.scan_iter(
                    match=self._key(f"{namespace}:*"), count=1000)):
                deleted += await self.client.delete(*batch)
            return deleted

        return await self._bounded(scan_and_delete(), write=True)

    async def invalidate(self, tags: Sequence[str]) -> int:
        if not tags:
            return 0
        return await self._bounded(self._invalidate(keys=[self._tag(tag) for tag in tags]),
                                   write=True)

    async def acquire_lock(self, key: str, *, ttl: float) -> str | None:
        token = secrets.token_hex(8)
        taken = await self._bounded(self.client.set(self._lock(key), token, nx=True,
                                                    px=max(int(ttl * 1000), 1)))
        return token if taken else None

    async def release_lock(self, key: str, token: str) -> None:
        await self._bounded(self._release(keys=[self._lock(key)], args=[token]))

    async def load_generation(self) -> int:
        value = await self._bounded(self.client.get(GENERATION_KEY))
        self.generation = int(value or 0)
        return self.generation

    async def bump_generation(self) -> int:
        self.generation = int(await self._bounded(self.client.incr(GENERATION_KEY)))
        return self.generation

    async def publish(self, payload: bytes) -> None:
        await self._bounded(self.client.publish(CHANNEL, payload))

    async def ping(self) -> None:
        await self._bounded(self.client.ping())

    async def fill_pool(self) -> None:
        """Open (or, after a restart, reopen) every pooled connection, off the request path."""
        await loop_lag.wait_for(asyncio.gather(*(self.client.ping() for _ in range(POOL_SIZE))),
                                max(self.timeout, 1.0))

    async def close(self) -> None:
        await self.client.aclose()


async def _batches(keys, size: int = 1000):
    batch = []
    async for key in keys:
        batch.append(key)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
