"""The metrics history sampler across processes: each stages its counts, one leader writes one
aggregated sample per interval, and leadership moves when the leader's connection goes."""

import asyncio
import math
import time
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import func, select, text

from lifeceo.platform.cache.stats import CacheStats
from lifeceo.platform.db.lease import lock_url
from lifeceo.platform.observability.history import HistorySampler
from lifeceo.platform.observability.history_models import (
    MetricsHistogram,
    MetricsSample,
    MetricsStaging,
)
from lifeceo.platform.observability.window import RequestWindow


def sampler(app, *, interval_seconds: float = 10.0, **kwargs) -> HistorySampler:
    """A sampler with a window and cache statistics of its own: another process, as it were."""
    settings = app.state.settings.model_copy(
        update={"metrics_history_interval_seconds": interval_seconds})
    return HistorySampler(settings, app.state.engine, app.state.sessionmaker,
                          window=RequestWindow(), cache_stats=CacheStats(min_samples=1), **kwargs)


@pytest.fixture
async def processes(app):
    made: list[HistorySampler] = []

    def make(**kwargs) -> HistorySampler:
        made.append(sampler(app, **kwargs))
        return made[-1]

    yield make
    for each in made:
        await each.close() if each._tasks else await each.resign()


async def samples_at(app, ts: datetime) -> dict[tuple[str, str], MetricsSample]:
    async with app.state.sessionmaker() as session:
        rows = await session.scalars(select(MetricsSample).where(MetricsSample.ts == ts))
        return {(row.name, row.label): row for row in rows}


async def count(app, model) -> int:
    async with app.state.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(model))


def last_interval(interval: float = 10.0) -> float:
    return math.floor(time.time() / interval) * interval - interval


async def test_two_processes_one_leader_one_aggregated_sample(app, processes):
    first = processes(dependencies=lambda: {"cache-redis": True})
    second = processes(dependencies=lambda: {"cache-redis": False})
    for i in range(40):
        first._window.observe("/api/v1/feed", "GET", 200, 0.010 + i * 0.001)
    for i in range(60):
        second._window.observe("/api/v1/feed", "GET", 502 if i < 3 else 200, 0.100)
    second._window.observe("/api/v1/posts/{post_id}", "GET", 200, 0.004)
    first._cache_stats.lookup("posts", hit=True)
    second._cache_stats.lookup("posts", hit=False)
    start = last_interval()
    assert await first.flush(interval_start=start)
    assert await second.flush(interval_start=start)
    assert await count(app, MetricsStaging) == 2

    assert await first.lead(until=start + 10)
    assert not await second.lead(until=start + 10)
    assert (first.is_leader, second.is_leader) == (True, False)

    samples = await samples_at(app, datetime.fromtimestamp(start, UTC))
    assert samples["http_request_rate_per_second", "feed"].value == 10.0
    assert samples["http_request_rate_per_second", "all"].samples == 101
    assert samples["http_error_ratio", "feed"].value == 3 / 100
    assert samples["http_error_ratio", "posts"].value == 0
    # 60 of the 100 feed requests took 100 ms: the median is one of them.
    assert samples["http_latency_p50_seconds", "feed"].value == pytest.approx(0.1, rel=0.03)
    assert samples["http_latency_p50_seconds", "posts"].value == pytest.approx(0.004, rel=0.03)
    assert samples["cache_hit_ratio", "posts"].value == 0.5
    assert samples["web_processes", "all"].value == 2
    assert samples["process_rss_bytes", "sum"].value > samples["process_rss_bytes", "max"].value
    assert samples["queue_depth", "email"].value == 0
    # Each process measured a round trip to the database as it staged its row.
    trip = samples["db_round_trip_seconds", "max"]
    assert trip.samples == 2 and 0 < trip.value < 1
    assert samples["dependency_down_ratio", "cache-redis"].value == 0.5
    assert await count(app, MetricsStaging) == 0
    assert await count(app, MetricsHistogram) == 2

    # The next interval: only what happened since, from the same leader.
    first._window.observe("/api/v1/feed", "GET", 200, 0.02)
    assert await first.flush(interval_start=start + 10)
    assert await second.flush(interval_start=start + 10)
    assert await first.lead(until=start + 20)
    later = await samples_at(app, datetime.fromtimestamp(start + 10, UTC))
    assert later["http_request_rate_per_second", "all"].value == 0.1
    assert ("http_request_rate_per_second", "posts") not in later


async def test_a_second_leader_for_a_moment_does_not_double_count(app, processes):
    first, second = processes(), processes()
    first._window.observe("/api/v1/feed", "GET", 200, 0.01)
    start = last_interval()
    assert await first.flush(interval_start=start)
    assert await first.lead(until=start + 10)
    # A late row for the written interval, then a leader that missed the change of hands.
    second._window.observe("/api/v1/feed", "GET", 200, 0.01)
    assert await second.flush(interval_start=start)
    async with app.state.sessionmaker() as session, session.begin():
        await second._aggregate(session, until=start + 10)
    samples = await samples_at(app, datetime.fromtimestamp(start, UTC))
    assert samples["http_request_rate_per_second", "all"].samples == 1
    assert await count(app, MetricsStaging) == 0


async def test_late_rows_count_with_the_next_interval(app, processes):
    first, second = processes(), processes()
    start = last_interval() - 10
    first._window.observe("/api/v1/feed", "GET", 200, 0.01)
    assert await first.flush(interval_start=start)
    assert await first.lead(until=start + 10)
    # The second process stalled: its row for the written interval arrives with the next one.
    for _ in range(3):
        second._window.observe("/api/v1/feed", "GET", 500, 0.2)
    assert await second.flush(interval_start=start)
    second._window.observe("/api/v1/feed", "GET", 200, 0.2)
    assert await second.flush(interval_start=start + 10)
    assert await first.flush(interval_start=start + 10)
    assert await first.lead(until=start + 20)
    written = await samples_at(app, datetime.fromtimestamp(start, UTC))
    assert written["http_request_rate_per_second", "all"].samples == 1
    later = await samples_at(app, datetime.fromtimestamp(start + 10, UTC))
    assert later["http_request_rate_per_second", "all"].samples == 4
    assert later["http_error_ratio", "all"].value == 3 / 4
    assert later["web_processes", "all"].value == 2
    assert await count(app, MetricsStaging) == 0


async def terminate(app, conn: psycopg.AsyncConnection) -> None:
    pid = conn.info.backend_pid
    async with await psycopg.AsyncConnection.connect(lock_url(app.state.settings),
                                                     autocommit=True) as admin:
        await admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))


async def test_leadership_moves_when_the_leaders_connection_closes(app, processes):
    first, second = processes(), processes()
    start = last_interval()
    assert await first.lead(until=start)
    assert not await second.lead(until=start)

    await terminate(app, first.lease.conn)
    second._window.observe("/api/v1/search", "GET", 200, 0.03)
    assert await second.flush(interval_start=start)
    assert await second.lead(until=start + 10)
    assert second.is_leader
    # The old leader notices at its next tick and stays a follower.
    assert not await first.lead(until=start + 10)
    assert not first.is_leader
    assert not await first.lead(until=start + 10)
    samples = await samples_at(app, datetime.fromtimestamp(start, UTC))
    assert samples["http_request_rate_per_second", "search"].samples == 1

    # A graceful stop hands over at once.
    await second.close()
    assert await first.lead(until=start + 10)


async def test_a_hung_leader_loses_the_lock_after_its_lease(app, processes):
    first, second = processes(interval_seconds=0.5), processes(interval_seconds=0.5)
    assert await first.lead(until=last_interval(0.5))
    assert not await second.lead(until=last_interval(0.5))
    # No ping for three intervals: PostgreSQL ends the lock session (idle_session_timeout).
    await asyncio.sleep(2.5)
    assert await second.lead(until=last_interval(0.5))
    assert not await first.lead(until=last_interval(0.5))


async def test_running_samplers_write_every_request_once(app):
    """Two samplers on their timers: every request counted lands in exactly one sample."""
    settings = app.state.settings.model_copy(update={"metrics_history_interval_seconds": 1.0})
    windows = (RequestWindow(), RequestWindow())
    running = [HistorySampler.start(settings, app.state.engine, app.state.sessionmaker,
                                    window=window) for window in windows]
    try:
        for _ in range(4):
            for i in range(25):
                windows[0].observe("/api/v1/feed", "GET", 200, 0.005)
                windows[1].observe("/api/v1/events", "GET", 500 if i == 0 else 200, 0.05)
            await asyncio.sleep(0.6)
        # The next boundary stages the last of them; half an interval later they are written.
        await asyncio.sleep(3.5)
        assert [each.is_leader for each in running].count(True) == 1
        async with app.state.sessionmaker() as session:
            written = dict(list(await session.execute(text("""
                SELECT label, sum(samples) FROM metrics_samples
                 WHERE name = 'http_request_rate_per_second' GROUP BY label"""))))
            errors = await session.scalar(text("""
                SELECT sum(value * samples) FROM metrics_samples
                 WHERE name = 'http_error_ratio' AND label = 'events'"""))
            processes = list(await session.scalars(text(
                "SELECT value FROM metrics_samples WHERE name = 'web_processes'")))
    finally:
        for each in running:
            await each.close()
    assert written == {"feed": 100, "events": 100, "all": 200}
    assert round(errors) == 4
    assert len(processes) >= 4
    assert set(processes) == {2.0}


async def test_requests_through_the_http_middleware_reach_the_history(app, client):
    settings = app.state.settings.model_copy(update={"metrics_history_interval_seconds": 1.0})
    running = HistorySampler.start(settings, app.state.engine, app.state.sessionmaker,
                                   cache_stats=app.state.cache.stats)
    try:
        for _ in range(5):
            assert (await client.get("/api/v1/feed/public")).status_code == 200
        assert (await client.get("/api/v1/posts/999999")).status_code == 404
        assert (await client.get("/no/such/path")).status_code == 404
        await asyncio.sleep(3.5)
        async with app.state.sessionmaker() as session:
            written = dict(list(await session.execute(text("""
                SELECT label, sum(samples) FROM metrics_samples
                 WHERE name = 'http_request_rate_per_second' GROUP BY label"""))))
            p50 = await session.scalar(text("""
                SELECT max(value) FROM metrics_samples
                 WHERE name = 'http_latency_p50_seconds' AND label = 'feed'"""))
            # The profiles counted the feed's statements; none repeated one.
            statements = dict(list(await session.execute(text("""
                SELECT name, max(value) FROM metrics_samples
                 WHERE name IN ('sql_statements_per_request', 'n_plus_one_ratio')
                   AND label = 'feed' GROUP BY name"""))))
    finally:
        await running.close()
    assert written == {"feed": 5, "posts": 1, "unmatched": 1, "all": 7}
    assert 0 < p50 < 1
    assert statements["sql_statements_per_request"] > 0
    assert statements["n_plus_one_ratio"] == 0


async def test_beacons_through_the_rum_endpoint_reach_the_history(app, client, processes):
    web = processes()  # counts what this process's endpoint accepts, from now on
    lcps = (1200.0, 2600.0, 3100.0, 900.0)
    for lcp in lcps:
        response = await client.post("/api/v1/rum", json={
            "url": "/posts/7", "lcp_ms": lcp, "inp_ms": 180, "cls": 0.01})
        assert response.status_code == 202, response.text
    # Refused at the door: not counted.
    assert (await client.post("/api/v1/rum", json={"url": "/", "lcp_ms": -1})).status_code == 422
    start = last_interval()
    assert await web.flush(interval_start=start)
    async with app.state.sessionmaker() as session:
        [staged] = await session.scalars(select(MetricsStaging.payload))
    assert {vital: counts["beacons"] for vital, counts in staged["rum"].items()} == {
        "lcp": 4, "inp": 4}
    assert sum(staged["rum"]["lcp"]["hist"].values()) == 4

    assert await web.lead(until=start + 10)
    samples = await samples_at(app, datetime.fromtimestamp(start, UTC))
    lcp = samples["rum_lcp_p75_seconds", "all"]
    # The 3rd of 4 by nearest rank: 2.6 s, read at its bucket's middle.
    assert (lcp.samples, lcp.value) == (4, pytest.approx(2.6, rel=0.03))
    assert samples["rum_inp_p75_seconds", "all"].value == pytest.approx(0.18, rel=0.03)
    assert ("rum_ttfb_p75_seconds", "all") not in samples
    async with app.state.sessionmaker() as session:
        kept = await session.scalar(select(MetricsHistogram.requests).where(
            MetricsHistogram.route_class == "rum:lcp"))
    assert kept == 4
    # The next interval starts from zero.
    assert await web.flush(interval_start=start + 10)
    async with app.state.sessionmaker() as session:
        [staged] = await session.scalars(select(MetricsStaging.payload))
    assert staged["rum"] == {}
