"""websocket-scaling, flipped at runtime: with Redis configured, live messages travel over Redis
pub/sub while on and over PostgreSQL NOTIFY while off; subscribers get them either way."""

import pytest
from flipping import flip
from redis.asyncio import Redis

from lifeceo.platform.flags.switches import live_over_redis
from lifeceo.platform.pubsub import LiveHub, LiveMessage
from lifeceo.platform.pubsub.hub import REDIS_CHANNEL


@pytest.fixture
async def hubs(database_url, engine, redis_server):
    """Two hubs standing for two processes, switched by the flag as the app's is."""
    started = []
    for _ in range(2):
        hub = LiveHub(engine=engine, database_url=database_url, redis_url=redis_server.url,
                      prefer_redis=live_over_redis)
        await hub.start()
        assert hub.listening
        started.append(hub)
    yield started
    for hub in started:
        await hub.close()


async def _over_redis(redis_url: str, hubs: list[LiveHub], number: int) -> bool:
    """Publish one message from the first hub: whether Redis carried it (the second hub's
    subscriber gets it in any case)."""
    spy = Redis.from_url(redis_url)
    pubsub = spy.pubsub()
    await pubsub.subscribe(REDIS_CHANNEL)
    await pubsub.get_message(timeout=1)  # the subscribe confirmation
    try:
        with hubs[1].subscribe("flags-test") as subscription:
            await hubs[0].publish(LiveMessage("flags-test", number, {"n": number}))
            delivery = await subscription.receive(timeout_seconds=5)
            assert delivery is not None
            assert delivery.messages == [LiveMessage("flags-test", number, {"n": number})]
        seen = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
        return seen is not None
    finally:
        await pubsub.aclose()
        await spy.aclose()


async def test_live_messages_move_between_redis_and_notify(client, admin, hubs, redis_server):
    assert [hub.backend for hub in hubs] == ["redis", "redis"]
    assert await _over_redis(redis_server.url, hubs, 1) is True
    await flip(client, admin, "websocket-scaling", enabled=False)
    assert [hub.backend for hub in hubs] == ["postgres", "postgres"]
    assert await _over_redis(redis_server.url, hubs, 2) is False
    await flip(client, admin, "websocket-scaling", enabled=True)
    assert await _over_redis(redis_server.url, hubs, 3) is True
