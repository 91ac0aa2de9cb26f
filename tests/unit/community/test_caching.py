"""cached_many: hits from the cache, misses in one load, and nothing stored that a write
overtook while it was being read."""

import asyncio

import pytest

from lifeceo.community.caching import cached_many
from lifeceo.platform.cache import MISSING, Cache


class Rows:
    """A loader over a dict of rows: records each call's items; `during` runs inside the read,
    as a write committing meanwhile would."""

    def __init__(self, rows: dict[int, str], during=None) -> None:
        self.rows = rows
        self.calls: list[list[int]] = []
        self.during = during

    async def __call__(self, items: list[int]) -> dict[int, str]:
        self.calls.append(sorted(items))
        await asyncio.sleep(0.01)
        if self.during is not None:
            await self.during()
        return {item: self.rows[item] for item in items if item in self.rows}


class Session:
    """Stands in for the request's session: counts connection checkouts."""

    def __init__(self) -> None:
        self.checkouts = 0

    async def connection(self) -> None:
        self.checkouts += 1


def keys(*items: int) -> dict[int, str]:
    return {item: f"row:{item}" for item in items}


async def test_misses_are_read_in_one_load_and_then_served_from_the_cache():
    session = Session()
    cache, rows = Cache(), Rows({1: "a", 2: "b", 3: "c"})
    assert await cached_many(cache, session, keys(1, 2, 3, 4), rows, ttl=60) == {1: "a", 2: "b", 3: "c"}
    assert rows.calls == [[1, 2, 3, 4]]
    assert session.checkouts == 1
    # All held by this process: no load, and no connection taken from the pool.
    assert await cached_many(cache, session, keys(3, 1, 2), rows, ttl=60) == {3: "c", 1: "a",
                                                                             2: "b"}
    assert rows.calls == [[1, 2, 3, 4]] and session.checkouts == 1
    # What does not exist is not cached: it is asked again.
    assert await cached_many(cache, session, keys(2, 4), rows, ttl=60) == {2: "b"}
    assert rows.calls == [[1, 2, 3, 4], [4]]
    assert await cached_many(cache, session, {}, rows, ttl=60) == {}


async def test_a_value_invalidated_while_it_was_read_is_returned_but_not_kept():
    session = Session()
    cache = Cache()

    async def write_commits() -> None:
        await cache.invalidate(tags=["user:1"])

    rows = Rows({1: "old", 2: "b"}, during=write_commits)
    found = await cached_many(cache, session, keys(1, 2), rows, ttl=60,
                              tags=lambda item: [f"user:{item}"])
    assert found == {1: "old", 2: "b"}
    assert await cache.get("row:1") is MISSING
    assert await cache.get("row:2") == "b"


async def test_concurrent_requests_sharing_keys_each_get_every_value():
    session = Session()
    cache, rows = Cache(), Rows({n: str(n) for n in range(10)})
    first, second = await asyncio.gather(cached_many(cache, session, keys(*range(6)), rows, ttl=60),
                                         cached_many(cache, session, keys(*range(3, 10)), rows, ttl=60))
    assert first == {n: str(n) for n in range(6)}
    assert second == {n: str(n) for n in range(3, 10)}
    # Keys 3-5 were read once, by whichever request led them.
    assert sorted(item for call in rows.calls for item in call) == list(range(10))


async def test_with_the_cache_off_everything_is_read_every_time():
    session = Session()
    cache, rows = Cache(enabled=False), Rows({1: "a"})
    for _ in range(2):
        assert await cached_many(cache, session, keys(1, 2), rows, ttl=60) == {1: "a"}
    assert rows.calls == [[1, 2], [1, 2]]


async def test_a_failed_read_fails_every_item_and_caches_nothing():
    session = Session()
    cache = Cache()

    async def broken(items):
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError, match="database down"):
        await cached_many(cache, session, keys(1, 2), broken, ttl=60)
    assert await cached_many(cache, session, keys(1, 2), Rows({1: "a", 2: "b"}), ttl=60) == {
        1: "a", 2: "b"}
