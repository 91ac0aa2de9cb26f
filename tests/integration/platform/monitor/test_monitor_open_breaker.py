"""open_breaker in a real application with a real Redis: the cache's Redis reads are timed for
the monitor; a Redis whose reads take longer than the database's statements has its breaker held
open by the monitor (L1 and the database serve), mitigated once its slowness is gone, and the
hold released at its expiry; a slow purge target is no reason to touch the cache."""

from contextlib import AsyncExitStack
from datetime import timedelta

import httpx
from tests.integration.platform.monitor.test_monitor_actions import incident
from tests.integration.platform.monitor.test_monitor_api import Clock, interval_now, write_points

from lifeceo.app import create_app
from lifeceo.platform.monitor.leader import Monitor
from lifeceo.platform.observability.outgoing import OUTGOING
from lifeceo.settings import Settings


def readings(now, seconds: float, *, count: int, samples: int = 500):
    return [(now - timedelta(seconds=10 * i), seconds, samples) for i in range(count)]


async def test_a_redis_slower_than_the_database_is_held_off_then_mitigated(
        app, redis_server):
    async with AsyncExitStack() as stack:
        application = create_app(Settings(redis_url=redis_server.url))
        await stack.enter_async_context(application.router.lifespan_context(application))
        cache, board = application.state.cache, application.state.levers
        calls_before = OUTGOING.snapshot()["cache-redis"][0]
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            assert (await http.get("/api/v1/feed/public")).status_code == 200
        # The first read missed L1 and asked Redis: timed, as every web process's are.
        assert OUTGOING.snapshot()["cache-redis"][0] > calls_before
        assert cache.l2_state == "closed"

        now = interval_now()
        # Redis reads at 15 ms against 3 ms statements for the last two intervals.
        await write_points(app, "outgoing_call_seconds", "cache-redis",
                           readings(now, 0.015, count=2))
        await write_points(app, "db_statement_seconds", "avg", readings(now, 0.003, count=2))
        clock = Clock(now + timedelta(seconds=1))
        monitor = Monitor(application.state.settings, application.state.engine,
                          application.state.sessionmaker, clock=clock, levers=board)
        stack.push_async_callback(monitor.close)
        first = await monitor.lead()
        [opened] = first.actions["verifying"]
        assert cache.l2_state == "open" and cache.l2_held == "open"

        # Redis is fast again (its reads resumed after the hold would show it): quiet, mitigated.
        later = now + timedelta(seconds=70)
        await write_points(app, "outgoing_call_seconds", "cache-redis",
                           readings(later, 0.0003, count=7))
        await write_points(app, "db_statement_seconds", "avg", readings(later, 0.003, count=7))
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
