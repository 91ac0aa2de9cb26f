"""Invalidation over PostgreSQL LISTEN/NOTIFY: the embedded default (no Redis), and Redis outages."""

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from tests.waiting import eventually

from lifeceo.platform.cache import MISSING, Cache
from lifeceo.platform.cache.bus_postgres import APPLICATION_NAME


@pytest.fixture
async def caches(database_url, engine):
    """Cache instances standing for separate processes, each with its own LISTEN connection."""
    started: list[Cache] = []

    async def make(**options) -> Cache:
        cache = Cache(database_url=database_url, engine=engine, **options)
        await cache.start()
        assert cache.bus_status()["postgres"]
        started.append(cache)
        return cache

    yield make
    for cache in started:
        await cache.close()


def missing_in(cache: Cache, key: str):
    async def condition() -> bool:
        return await cache.get(key) is MISSING

    return condition


async def test_tag_invalidation_reaches_every_process_without_redis(caches):
    first, second = await caches(), await caches()
    for cache in (first, second):
        await cache.set("users:profile:42", {"name": "Ana"}, ttl=60, tags=["user:42"])
        await cache.set("users:profile:7", {"name": "Bo"}, ttl=60, tags=["user:7"])
    await first.invalidate(tags=["user:42"])
    assert await first.get("users:profile:42") is MISSING  # the sender drops at once
    await eventually(missing_in(second, "users:profile:42"))
    assert await second.get("users:profile:7") == {"name": "Bo"}


async def test_long_tag_lists_are_chunked_into_several_notifications(caches):
    first, second = await caches(), await caches()
    await second.set("events:list", [1], ttl=60, tags=["event:1999"])
    await first.invalidate(tags=[f"event:{n}" for n in range(2000)])
    await eventually(missing_in(second, "events:list"))


async def test_invalidation_in_a_transaction_is_delivered_when_it_commits(caches, engine):
    first, second = await caches(), await caches()
    await second.set("users:profile:5", {"v": "old"}, ttl=60, tags=["user:5"])
    async with async_sessionmaker(engine)() as session:
        await first.invalidate(tags=["user:5"], session=session)
        await asyncio.sleep(0.2)
        assert await second.get("users:profile:5") == {"v": "old"}  # not committed yet
        # A reader in the sender's process refills from the pre-commit data meanwhile...
        await first.set("users:profile:5", {"v": "old"}, ttl=60, tags=["user:5"])
        await session.commit()
    await eventually(missing_in(second, "users:profile:5"))
    # ...and the sender drops it again once the transaction is committed.
    await eventually(missing_in(first, "users:profile:5"))


async def test_while_redis_is_down_invalidations_travel_over_postgres(caches, redis_server):
    first = await caches(redis_url=redis_server.url)
    second = await caches(redis_url=redis_server.url)
    await first.set("users:profile:3", {"v": "old"}, ttl=60, tags=["user:3"])
    assert await second.get("users:profile:3") == {"v": "old"}
    redis_server.stop()
    await first.invalidate(tags=["user:3"])
    assert first.l2_state != "closed"
    await eventually(missing_in(second, "users:profile:3"))


async def test_listener_reconnects_after_losing_postgres_and_forgets_what_it_may_have_missed(
        caches, engine):
    first, second = await caches(), await caches()
    await second.set("users:profile:8", {"v": "old"}, ttl=60, tags=["user:8"])
    async with engine.begin() as connection:
        await connection.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = :name"), {"name": APPLICATION_NAME})
    # Invalidations sent while it was away are lost, so its L1 is emptied on reconnecting.
    await eventually(missing_in(second, "users:profile:8"))
    await eventually(lambda: _listening(second))
    await second.set("users:profile:9", {"v": "old"}, ttl=60, tags=["user:9"])
    await first.invalidate(tags=["user:9"])
    await eventually(missing_in(second, "users:profile:9"))


async def _listening(cache: Cache) -> bool:
    return cache.bus_status()["postgres"]
