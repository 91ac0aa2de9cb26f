"""The live hub: one listener per process fans messages out to that process's subscribers, over
PostgreSQL LISTEN/NOTIFY or Redis pub/sub; a reconnect tells subscribers they missed messages."""

import asyncio

import pytest
from sqlalchemy import text
from tests.waiting import eventually

from lifeceo.platform.pubsub import LiveHub, LiveMessage
from lifeceo.platform.pubsub.hub import LISTENER_NAME


@pytest.fixture
async def hubs(database_url, engine):
    """Hubs standing for separate processes, each with its own listener."""
    started: list[LiveHub] = []

    async def make(redis_url: str | None = None) -> LiveHub:
        hub = LiveHub(engine=engine, database_url=database_url, redis_url=redis_url)
        await hub.start()
        assert hub.listening
        started.append(hub)
        return hub

    yield make
    for hub in started:
        await hub.close()


async def listeners(engine) -> int:
    async with engine.connect() as connection:
        return await connection.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
            {"name": LISTENER_NAME})


@pytest.mark.parametrize("backend", ["postgres", "redis"])
async def test_a_message_reaches_the_topics_subscribers_in_every_process(hubs, redis_server,
                                                                         backend):
    url = redis_server.url if backend == "redis" else None
    first, second = await hubs(url), await hubs(url)
    assert first.backend == backend
    with first.subscribe("notifications:1") as here, \
            second.subscribe("notifications:1") as there, \
            second.subscribe("notifications:2") as elsewhere:
        await second.publish(LiveMessage("notifications:1", 7, {"id": 3}))
        for subscription in (here, there):
            delivery = await subscription.receive(timeout_seconds=5)
            assert delivery is not None and not delivery.missed
            assert delivery.messages == [LiveMessage("notifications:1", 7, {"id": 3})]
        assert await elsewhere.receive(timeout_seconds=0.2) is None
    assert first.subscribers == second.subscribers == 0


async def test_one_listener_connection_per_process_whatever_the_subscribers(hubs, engine):
    before = await listeners(engine)
    hub = await hubs()
    subscriptions = [hub.subscribe(f"notifications:{i % 7}") for i in range(50)]
    for subscription in subscriptions:
        subscription.__enter__()
    assert hub.subscribers == 50
    assert await listeners(engine) == before + 1
    for subscription in subscriptions:
        subscription.__exit__(None, None, None)
    assert hub.subscribers == 0


async def test_subscribers_hear_that_they_missed_messages_when_postgres_comes_back(hubs, engine):
    hub = await hubs()
    with hub.subscribe("notifications:1") as subscription:
        async with engine.begin() as connection:
            await connection.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = :name"), {"name": LISTENER_NAME})
        delivery = await subscription.receive(timeout_seconds=10)
        assert delivery is not None and delivery.missed
        await eventually(lambda: _listening(hub))
        await hub.publish(LiveMessage("notifications:1", 8, {"id": 1}))
        delivery = await subscription.receive(timeout_seconds=5)
        assert delivery.messages == [LiveMessage("notifications:1", 8, {"id": 1})]


async def test_subscribers_hear_that_they_missed_messages_when_redis_comes_back(hubs,
                                                                                redis_server):
    hub = await hubs(redis_server.url)
    with hub.subscribe("notifications:1") as subscription:
        redis_server.stop()
        redis_server.start()
        delivery = await subscription.receive(timeout_seconds=15)
        assert delivery is not None and delivery.missed


async def test_a_subscriber_that_falls_behind_is_told_instead_of_growing_without_bound(hubs):
    hub = await hubs()
    with hub.subscribe("notifications:1") as subscription:
        for stream_id in range(150):
            subscription.deliver(LiveMessage("notifications:1", stream_id, {"id": 1}))
        delivery = await subscription.receive(timeout_seconds=1)
        assert delivery.missed and len(delivery.messages) <= 100


async def test_closing_the_hub_ends_its_subscriptions(hubs):
    hub = await hubs()
    with hub.subscribe("notifications:1") as subscription:
        waiting = asyncio.create_task(subscription.receive(timeout_seconds=30))
        await asyncio.sleep(0.05)
        await hub.close()
        assert await asyncio.wait_for(waiting, 1) is None
        assert subscription.closed


async def test_oversized_messages_are_refused(hubs):
    hub = await hubs()
    with pytest.raises(ValueError):
        await hub.publish(LiveMessage("notifications:1", 1, {"text": "x" * 8000}))


async def _listening(hub: LiveHub) -> bool:
    return hub.listening
