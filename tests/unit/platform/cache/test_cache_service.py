import asyncio

import pytest

from lifeceo.platform.cache import MISSING, Cache


class Counting:
    """A compute function that counts its calls and takes a little time, like a query."""

    def __init__(self, value=None, delay: float = 0.02) -> None:
        self.calls = 0
        self.value = value
        self.delay = delay

    async def __call__(self):
        self.calls += 1
        await asyncio.sleep(self.delay)
        return self.value if self.value is not None else {"call": self.calls}


async def test_get_set_and_a_cached_none_is_a_hit():
    cache = Cache()
    assert await cache.get("users:profile:1") is MISSING
    await cache.set("users:profile:1", None, ttl=60)
    assert await cache.get("users:profile:1") is None
    calls = 0

    async def no_such_user():
        nonlocal calls
        calls += 1

    assert await cache.get_or_compute("users:profile:2", no_such_user, ttl=60) is None
    assert await cache.get_or_compute("users:profile:2", no_such_user, ttl=60) is None
    assert calls == 1
    assert cache.stats.snapshot()["namespaces"]["users"]["tiers"]["l1"]["hits"] == 2


async def test_readers_get_copies_not_the_cached_object():
    cache = Cache()
    await cache.set("posts:1", {"tags": ["tango"]}, ttl=60)
    first = await cache.get("posts:1")
    first["tags"].append("mutated")
    assert await cache.get("posts:1") == {"tags": ["tango"]}


async def test_thousand_concurrent_callers_of_an_expired_key_compute_once():
    cache = Cache()
    compute = Counting(delay=0.05)
    results = await asyncio.gather(*(cache.get_or_compute("posts:feed:1:20:", compute, ttl=60)
                                     for _ in range(1000)))
    assert compute.calls == 1
    assert all(result == {"call": 1} for result in results)
    posts = cache.stats.snapshot()["namespaces"]["posts"]
    assert posts["coalesced"] == 999
    assert posts["windows"]["1m"] == {"samples": 1000, "hit_ratio": 0.999}


async def test_a_failed_computation_fails_its_joiners_and_is_not_cached():
    cache = Cache()

    async def broken():
        await asyncio.sleep(0.01)
        raise RuntimeError("database down")

    results = await asyncio.gather(*(cache.get_or_compute("posts:1", broken, ttl=60)
                                     for _ in range(5)), return_exceptions=True)
    assert all(isinstance(result, RuntimeError) for result in results)
    assert await cache.get_or_compute("posts:1", Counting(value=1), ttl=60) == 1


async def test_a_cancelled_leader_hands_the_load_to_a_waiting_caller():
    cache = Cache()
    compute = Counting(value="v", delay=0.05)
    leader = asyncio.create_task(cache.get_or_compute("k:1", compute, ttl=60))
    await asyncio.sleep(0.01)
    follower = asyncio.create_task(cache.get_or_compute("k:1", compute, ttl=60))
    await asyncio.sleep(0.01)
    leader.cancel()
    assert await follower == "v"
    assert compute.calls == 2


async def test_invalidating_a_tag_drops_its_entries_only():
    cache = Cache()
    await cache.set("posts:feed:42", [1], ttl=60, tags=["user:42"])
    await cache.set("users:profile:42", {"id": 42}, ttl=60, tags=["user:42"])
    await cache.set("users:profile:7", {"id": 7}, ttl=60, tags=["user:7"])
    await cache.invalidate(tags=["user:42"])
    assert await cache.get("posts:feed:42") is MISSING
    assert await cache.get("users:profile:42") is MISSING
    assert await cache.get("users:profile:7") == {"id": 7}
    await cache.delete("users:profile:7")
    assert await cache.get("users:profile:7") is MISSING


async def test_a_value_computed_across_an_invalidation_is_returned_but_not_kept():
    cache = Cache()
    release = asyncio.Event()

    async def slow_read():
        await release.wait()
        return "read before the write"

    load = asyncio.create_task(cache.get_or_compute("users:42", slow_read, ttl=60,
                                                    tags=["user:42"]))
    await asyncio.sleep(0.01)
    await cache.invalidate(tags=["user:42"])
    release.set()
    assert await load == "read before the write"
    assert await cache.get("users:42") is MISSING


async def test_get_local_answers_from_this_process_only_and_counts_its_hits_alone():
    cache = Cache()
    assert cache.get_local("posts:1") is MISSING
    await cache.set("posts:1", {"id": 1}, ttl=60)
    assert cache.get_local("posts:1") == {"id": 1}
    tiers = cache.stats.snapshot()["namespaces"]["posts"]["tiers"]["l1"]
    assert (tiers["hits"], tiers["misses"]) == (1, 0)


async def test_a_value_read_before_an_invalidation_of_its_tags_is_not_stored():
    cache = Cache()
    mark = cache.mark()
    await cache.invalidate(tags=["session:7"])
    await cache.set("auth:a", {"user": 1}, ttl=60, tags=["user:1", "session:7"], read_since=mark)
    assert await cache.get("auth:a") is MISSING
    await cache.set("auth:a", {"user": 1}, ttl=60, tags=["user:1", "session:7"],
                    read_since=cache.mark())
    assert await cache.get("auth:a") == {"user": 1}


async def test_disabled_cache_always_computes():
    cache = Cache(enabled=False)
    compute = Counting(value=1)
    for _ in range(3):
        assert await cache.get_or_compute("posts:1", compute, ttl=60) == 1
    await cache.set("posts:1", 1, ttl=60)
    assert await cache.get("posts:1") is MISSING
    assert compute.calls == 3


async def test_warming_refreshes_a_hot_key_shortly_before_it_expires():
    cache = Cache()
    version = 0

    async def feed():
        nonlocal version
        version += 1
        return version

    for _ in range(3):
        assert await cache.get_or_compute("posts:trending", feed, ttl=0.5, refresh=feed) == 1
    await cache.get_or_compute("posts:cold", feed, ttl=0.5, refresh=feed)  # read once: cold
    assert await cache.warm(limit=10) == 0  # far from expiry: nothing to do
    await asyncio.sleep(0.42)  # under a fifth of the TTL left
    for _ in range(2):  # the last run halved its count: it stays hot only if still read
        await cache.get_or_compute("posts:trending", feed, ttl=0.5, refresh=feed)
    assert await cache.warm(limit=10) == 1
    await asyncio.sleep(0.2)  # past the original expiry: served from the refreshed entry
    assert await cache.get("posts:trending") == 3
    assert await cache.get("posts:cold") is MISSING


async def test_warming_one_namespace_refreshes_its_missing_hot_keys_only():
    cache = Cache()
    computed: list[str] = []

    def computing(key: str):
        async def compute():
            computed.append(key)
            return key
        return compute

    keys = ("feed:public:20:", "feed:public:20:abc", "user:7")
    for _ in range(2):  # read twice: hot
        for key in keys:
            await cache.get_or_compute(key, computing(key), ttl=60, refresh=computing(key))
    await cache.drop_namespace("feed", turn_seconds=1)
    await cache.drop_namespace("user", turn_seconds=1)
    computed.clear()
    # Only the feed's, though the user's is as cold; without decay: still as hot for the job.
    assert await cache.warm(namespace="feed", decay=False) == 2
    assert sorted(computed) == ["feed:public:20:", "feed:public:20:abc"]
    assert cache.get_local("feed:public:20:") == "feed:public:20:"
    assert cache.get_local("user:7") is MISSING
    assert await cache.warm(namespace="feed", decay=False) == 0  # fresh now: nothing due
    assert await cache.warm(namespace="user", decay=False) == 1


@pytest.mark.parametrize("call", [
    lambda cache: cache.get(""),
    lambda cache: cache.set("k" * 513, 1, ttl=60),
    lambda cache: cache.set("k", 1, ttl=0),
    lambda cache: cache.set("k", 1, ttl=60, tags="user:42"),
    lambda cache: cache.set("k", object(), ttl=60),
])
async def test_programming_errors_raise_at_once(call):
    with pytest.raises((ValueError, TypeError)):
        await call(Cache())


async def _composed_of(cache: Cache, *keys: str) -> bool:
    mark = cache.mark()
    with cache.composing() as parts:
        value = [cache.get_local(key) for key in keys]
    return cache.set_composed("view:1:page", value, parts, read_since=mark)


async def test_a_composed_value_lives_until_one_of_its_parts_is_invalidated():
    cache = Cache()
    await cache.set("post:1", {"id": 1}, ttl=60, tags=["author:7"])
    await cache.set("post:2", {"id": 2}, ttl=60)
    assert await _composed_of(cache, "post:1", "post:2")
    assert cache.get_local("view:1:page") == [{"id": 1}, {"id": 2}]
    await cache.invalidate(keys=["post:2"])  # a part's key
    assert cache.get_local("view:1:page") is MISSING

    await cache.set("post:2", {"id": 2}, ttl=60)
    assert await _composed_of(cache, "post:1", "post:2")
    await cache.invalidate(tags=["author:7"])  # a part's tag
    assert cache.get_local("view:1:page") is MISSING


async def test_a_composed_value_needs_every_part_cached_and_expires_with_the_first():
    cache = Cache()
    await cache.set("post:1", {"id": 1}, ttl=60)
    assert not await _composed_of(cache, "post:1", "post:404")
    await cache.set("post:2", {"id": 2}, ttl=0.1)
    assert await _composed_of(cache, "post:1", "post:2")
    await asyncio.sleep(0.15)
    assert cache.get_local("view:1:page") is MISSING


async def test_a_composed_value_read_across_an_invalidation_is_not_kept():
    cache = Cache()
    await cache.set("post:1", {"id": 1}, ttl=60)
    mark = cache.mark()
    with cache.composing() as parts:
        cache.get_local("post:1")
    await cache.invalidate(keys=["post:1"])
    assert not cache.set_composed("view:1:page", [], parts, read_since=mark)
