"""open_breaker in a real application with a real Redis: each interval the cache's Redis is
PINGed for the metrics history; a Redis whose round trip is longer than the database's has its
breaker held open by the monitor (L1 and the database serve), mitigated once its slowness is
gone; a slow purge target is no reason to touch the cache."""

from contextlib import AsyncExitStack
from datetime import timedelta

from tests.integration.platform.monitor.test_monitor_actions import incident
from tests.integration.platform.monitor.test_monitor_api import Clock, interval_now, write_points

from lifeceo.app import create_app
from lifeceo.platform.monitor.leader import Monitor
from lifeceo.settings import Settings


def readings(now, seconds: float, *, count: int, samples: int = 500):
    return [(now - timedelta(seconds=10 * i), seconds, samples) for i in range(count)]


async def test_a_redis_slower_than_the_database_is_held_off_then_mitigated(
        app, redis_server):
    async with AsyncExitStack() as stack:
        application = create_app(Settings(redis_url=redis_server.url))
        await stack.enter_async_context(application.router.lifespan_context(application))
        cache, board = application.state.cache, application.state.levers
        # The round trip each web process's sampler measures every interval, net of loop lag.
        trip = await cache.redis_round_trip()
        assert trip is not None and 0 < trip < 0.05
        assert cache.l2_state == "closed"

        now = interval_now()
        # A 15 ms PING against a 3 ms SELECT 1 for the last two intervals.
        await write_points(app, "cache_round_trip_seconds", "avg", readings(now, 0.015, count=2))
        await write_points(app, "db_round_trip_seconds", "avg", readings(now, 0.003, count=2))
        clock = Clock(now + timedelta(seconds=1))
        monitor = Monitor(application.state.settings, application.state.engine,
                          application.state.sessionmaker, clock=clock, levers=board)
        stack.push_async_callback(monitor.close)
        first = await monitor.lead()
        [opened] = first.actions["verifying"]
        assert cache.l2_state == "open" and cache.l2_held == "open"

        # Held open, Redis is not PINGed: the detector is quiet, the attempt mitigated.
        assert await cache.redis_round_trip() is None
        later = now + timedelta(seconds=70)
        await write_points(app, "db_round_trip_seconds", "avg", readings(later, 0.003, count=7))
        clock.now = later + timedelta(seconds=1)
        assert (await monitor.lead()).actions == {"mitigated": [opened]}
        assert (await incident(app, "slow_dependency:cache-redis")).state == "mitigated"
        await board.undo("breaker", target="cache", actor="test")
        assert cache.l2_held is None


async def test_a_slow_purge_target_opens_no_breaker(app, redis_server):
    async with AsyncExitStack() as stack:
        application = create_app(Settings(redis_url=redis_server.url))
        await stack.enter_async_context(application.router.lifespan_context(application))
        now = interval_now()
        await write_points(app, "outgoing_call_seconds", "varnish", readings(now, 1.0, count=2,
                                                                              samples=20))
        monitor = Monitor(application.state.settings, application.state.engine,
                          application.state.sessionmaker, clock=Clock(now + timedelta(seconds=1)),
                          levers=application.state.levers)
        stack.push_async_callback(monitor.close)
        outcome = await monitor.lead()
        assert "slow_dependency:varnish" in {d.fingerprint for d in outcome.detections}
        assert outcome.actions == {}
        assert application.state.cache.l2_state == "closed"
