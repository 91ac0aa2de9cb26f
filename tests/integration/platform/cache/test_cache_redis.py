"""Two Cache instances sharing one private redis-server stand for two processes (or nodes)."""

import asyncio
import logging
import signal
import time

import pytest
import redis
from tests.waiting import eventually

from lifeceo.platform.cache import MISSING, Cache, cache_check
from lifeceo.platform.observability.logging import configure_logging


class Counting:
    def __init__(self, delay: float = 0.05) -> None:
        self.calls = 0
        self.delay = delay

    async def __call__(self):
        self.calls += 1
        await asyncio.sleep(self.delay)
        return {"call": self.calls}


@pytest.fixture
async def caches(redis_server):
    """Start caches on the private Redis (same settings as production unless overridden)."""
    started: list[Cache] = []

    async def make(**overrides) -> Cache:
        cache = Cache(redis_url=redis_server.url, **overrides)
        await cache.start()
        started.append(cache)
        return cache

    yield make
    for cache in started:
        await cache.close()


@pytest.fixture
def breaker_events(caplog):
    configure_logging(log_format="console")
    caplog.set_level(logging.INFO, logger="lifeceo.platform.cache.breaker")
    return lambda: [record.msg["event"] for record in caplog.records
                    if record.name == "lifeceo.platform.cache.breaker"]


async def test_two_processes_recompute_an_expiring_hot_key_about_once(caches):
    # A generous timeout: 1,000 coroutines on one event loop must not look like a Redis outage.
    first, second = await caches(redis_timeout_seconds=0.5), await caches(redis_timeout_seconds=0.5)
    compute = Counting(delay=0.05)
    await first.get_or_compute("posts:trending", compute, ttl=0.3)
    await asyncio.sleep(0.35)  # expired in L1 and L2 everywhere
    results = await asyncio.gather(*(cache.get_or_compute("posts:trending", compute, ttl=0.3)
                                     for _ in range(500) for cache in (first, second)))
    recomputations = compute.calls - 1
    assert recomputations <= 2  # the bound; the Redis lock makes it 1 in practice
    # Each process either computed or was served from L2 what the other computed.
    assert sum(cache.stats.snapshot()["namespaces"]["posts"]["tiers"]["l2"]["hits"]
               for cache in (first, second)) == 2 - recomputations
    assert len({result["call"] for result in results}) == recomputations
    print(f"1,000 callers in two processes: {recomputations} recomputation(s)")


async def test_tag_invalidation_reaches_the_other_process_over_pubsub(caches):
    first, second = await caches(), await caches()
    await first.set("users:profile:42", {"name": "Ana"}, ttl=60, tags=["user:42"])
    await first.set("users:profile:7", {"name": "Bo"}, ttl=60, tags=["user:7"])
    assert await second.get("users:profile:42") == {"name": "Ana"}  # from L2, now in its L1
    assert await second.get("users:profile:7") == {"name": "Bo"}
    await first.invalidate(tags=["user:42"])

    async def dropped_in_second() -> bool:
        return await second.get("users:profile:42") is MISSING

    await eventually(dropped_in_second)
    assert await first.get("users:profile:42") is MISSING
    assert await second.get("users:profile:7") == {"name": "Bo"}
    fresh = await caches()  # a process started later reads L2 only
    assert await fresh.get("users:profile:42") is MISSING


async def test_redis_restart_under_load(caches, redis_server, breaker_events):
    cache = await caches()
    check = cache_check(cache)
    compute = Counting(delay=0.002)
    failures: list[BaseException] = []
    stop = asyncio.Event()

    async def client(n: int) -> None:
        i = n
        while not stop.is_set():
            try:
                await cache.get_or_compute(f"posts:item:{i % 40}", compute, ttl=0.2,
                                           tags=[f"user:{i % 5}"])
            except Exception as exc:
                failures.append(exc)
            i += 7
            await asyncio.sleep(0.002)

    load = [asyncio.create_task(client(n)) for n in range(20)]
    await asyncio.sleep(0.4)
    assert {c.key: c.status for c in await check()}["cache:l2"] == "pass"
    redis_server.stop()
    killed = time.monotonic()
    await eventually(lambda: _state_is(cache, "closed", negate=True))
    open_seconds = time.monotonic() - killed
    while_down = {c.key: c for c in await check()}
    await asyncio.sleep(0.8)
    redis_server.start()
    restarted = time.monotonic()
    await eventually(lambda: _state_is(cache, "closed"), timeout=6)
    recovery_seconds = time.monotonic() - restarted
    served_from_l2 = cache.stats.snapshot()["namespaces"]["posts"]["tiers"]["l2"]["sets"]
    await asyncio.sleep(0.4)
    stop.set()
    await asyncio.gather(*load)

    assert failures == []
    assert while_down["cache:l2"].status == "warn" and "L1" in while_down["cache:l2"].output
    assert {c.key: c.status for c in await check()}["cache:l2"] == "pass"
    # The event loop's lag excuses no failure of a killed Redis: refused connections are no
    # timeouts.
    assert open_seconds < 1
    assert recovery_seconds < 5
    assert breaker_events() == ["circuit opened", "circuit closed"]
    assert cache.stats.snapshot()["namespaces"]["posts"]["tiers"]["l2"]["sets"] > served_from_l2
    print(f"breaker open {open_seconds:.3f} s after redis was killed; L2 back "
          f"{recovery_seconds:.2f} s after it restarted; {compute.calls} computations")


async def _state_is(cache: Cache, state: str, negate: bool = False) -> bool:
    return (cache.l2_state == state) != negate


async def test_invalidations_missed_by_redis_are_replayed_before_l2_is_used_again(caches,
                                                                                   redis_server):
    writer = await caches(breaker_probe_seconds=0.1)
    await writer.set("users:profile:1", {"v": "old"}, ttl=60, tags=["user:1"])
    await writer.set("users:profile:2", {"v": "kept"}, ttl=60, tags=["user:2"])
    admin = redis.Redis.from_url(redis_server.url)
    # Unresponsive but not restarted, so L2 keeps its data: every call times out.
    admin.execute_command("CLIENT", "PAUSE", "600", "ALL")
    started = time.monotonic()
    await writer.invalidate(tags=["user:1"])
    # Bounded by the writes' timeouts (ten of 50 ms: a lost write opens the breaker), not by Redis.
    assert time.monotonic() - started < 1.0
    assert writer.l2_state != "closed"
    assert await writer.get("users:profile:1") is MISSING
    await eventually(lambda: _state_is(writer, "closed"), timeout=3)
    fresh = await caches()
    assert await fresh.get("users:profile:1") is MISSING
    assert await fresh.get("users:profile:2") == {"v": "kept"}
    admin.close()


async def test_too_many_missed_invalidations_drop_the_whole_generation(caches, redis_server):
    writer = await caches(breaker_probe_seconds=0.1)
    reader = await caches()
    await writer.set("users:profile:1", {"v": "old"}, ttl=60)
    assert await reader.get("users:profile:1") == {"v": "old"}
    writer._l2.pending._max_items = 2
    admin = redis.Redis.from_url(redis_server.url)
    # Longer than a write waits (ten timeouts of 50 ms).
    admin.execute_command("CLIENT", "PAUSE", "1500", "ALL")
    await writer.invalidate(tags=["a", "b", "c"])
    assert writer._l2.pending.overflowed
    await eventually(lambda: _state_is(writer, "closed"), timeout=5)
    assert writer._l2.redis.generation == 1

    async def reader_moved_on() -> bool:
        return reader._l2.redis.generation == 1

    await eventually(reader_moved_on)
    assert await (await caches()).get("users:profile:1") is MISSING
    admin.close()


async def test_a_blocked_event_loop_is_not_a_redis_outage(caches, redis_server, breaker_events):
    writer, reader = await caches(), await caches()
    keys = [f"posts:item:{n}" for n in range(60)]
    for key in keys:
        await writer.set(key, {"key": key}, ttl=60)
    block_seconds = 4 * reader._l2.redis.timeout  # the production timeout unless overridden

    async def block_the_loop() -> None:
        await asyncio.sleep(0)  # once the reads have been sent
        time.sleep(block_seconds)  # password hashing, a large JSON body, a GC pause

    # Three rounds of twenty L2 reads, each round outlasting the timeout on a healthy Redis.
    for first in range(0, len(keys), 20):
        round_keys = keys[first:first + 20]
        *values, _ = await asyncio.gather(*(reader.get(key) for key in round_keys),
                                          block_the_loop())
        assert values == [{"key": key} for key in round_keys]
    assert reader.l2_state == "closed"
    assert breaker_events() == []

    # A Redis that hangs while the loop is on time is still an outage, found within the timeouts.
    redis_server.process.send_signal(signal.SIGSTOP)
    try:
        hung = time.monotonic()
        for n in range(3):
            assert await reader.get(f"posts:item:absent{n}") is MISSING
        assert reader.l2_state == "open" and time.monotonic() - hung < 1
        assert breaker_events() == ["circuit opened"]
    finally:
        redis_server.process.send_signal(signal.SIGCONT)
