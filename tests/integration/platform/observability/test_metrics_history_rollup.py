"""The metrics-rollup and metrics-expire jobs on seeded samples."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from lifeceo.platform.observability import history_repository as repository
from lifeceo.platform.observability.histogram import bucket_of, percentiles
from lifeceo.platform.observability.history_aggregate import Point
from lifeceo.platform.observability.history_models import (
    MetricsHistogram,
    MetricsRollup,
    MetricsSample,
)
from lifeceo.platform.observability.history_tasks import expire, roll_up

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
HOUR = NOW - timedelta(hours=2)


def hist(latencies: list[float]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for seconds in latencies:
        key = str(bucket_of(seconds))
        counts[key] = counts.get(key, 0) + 1
    return counts


async def seed(session, minutes: int) -> list[float]:
    """`minutes` minutes of 10 s intervals from HOUR; returns every feed latency."""
    latencies: list[float] = []
    for i in range(minutes * 6):
        ts = HOUR + timedelta(seconds=10 * i)
        # Every minute has one slow interval: 10 requests at 1 s, after five of 10 at 10 ms.
        slow = i % 6 == 5
        interval = [1.0] * 10 if slow else [0.01] * 10
        latencies += interval
        p95 = percentiles({int(k): n for k, n in hist(interval).items()}, (0.95,))[0.95]
        await repository.write_points(session, ts=ts, points=[
            Point("process_rss_bytes", "sum", 100.0 * (i % 6 + 1), 2),
            Point("http_error_ratio", "feed", 0.5 if slow else 0.0, len(interval)),
            Point("http_latency_p95_seconds", "feed", p95, len(interval)),
            Point("http_latency_p95_seconds", "all", p95, len(interval)),
        ])
        await repository.write_histograms(session, ts=ts,
                                          histograms={"feed": (len(interval), hist(interval))})
    await session.commit()
    return latencies


async def rollups(session, resolution: int) -> dict[tuple[str, str, datetime], MetricsRollup]:
    rows = await session.scalars(select(MetricsRollup)
                                 .where(MetricsRollup.resolution_seconds == resolution))
    return {(row.name, row.label, row.ts): row for row in rows}


async def test_minute_and_hour_rollups(app, session):
    settings = app.state.settings
    await seed(session, minutes=60)
    # A minute and a half into the next hour: 60 minutes and the hour are complete.
    now = HOUR + timedelta(minutes=61, seconds=30)
    assert await roll_up(session, settings=settings, resolution_seconds=60, now=now) > 0
    assert await roll_up(session, settings=settings, resolution_seconds=3600, now=now) > 0
    await session.commit()

    minutes = await rollups(session, 60)
    assert len({ts for _, _, ts in minutes}) == 60
    first = {(name, label): row for (name, label, ts), row in minutes.items() if ts == HOUR}
    rss = first["process_rss_bytes", "sum"]
    assert (rss.value, rss.max, rss.samples) == (350.0, 600.0, 12)
    # Errors over requests of the whole minute (5 of 60), not the mean of six ratios (1/12).
    assert first["http_error_ratio", "feed"].value == pytest.approx(5 / 60)
    # The p95 of the minute's 60 requests is a slow one; the mean of 10 s p95s is not.
    p95 = first["http_latency_p95_seconds", "feed"]
    assert p95.value == pytest.approx(1.0, rel=0.03)
    assert p95.samples == 60
    assert p95.max == pytest.approx(1.0, rel=0.03)
    assert first["http_latency_p95_seconds", "all"].value == p95.value

    [hour] = [row for (name, label, _), row in (await rollups(session, 3600)).items()
              if (name, label) == ("http_latency_p50_seconds", "feed")]
    assert hour.ts == HOUR
    assert hour.value == pytest.approx(0.01, rel=0.03)
    assert hour.samples == 3600

    # Run again: nothing new is complete, the last minute is recomputed, nothing doubles.
    before = await session.scalar(select(func.count()).select_from(MetricsRollup))
    await roll_up(session, settings=settings, resolution_seconds=60, now=now)
    await session.commit()
    assert await session.scalar(select(func.count()).select_from(MetricsRollup)) == before


async def test_incomplete_buckets_wait(app, session):
    await seed(session, minutes=2)
    # The second minute ended 10 s ago: its last interval may not be written yet.
    now = HOUR + timedelta(minutes=2, seconds=10)
    await roll_up(session, settings=app.state.settings, resolution_seconds=60, now=now)
    assert await roll_up(session, settings=app.state.settings, resolution_seconds=3600,
                         now=now) == 0
    await session.commit()
    assert {ts for _, _, ts in await rollups(session, 60)} == {HOUR}


async def test_expiry_keeps_48_hours_raw_and_30_days_of_rollups(app, session):
    now = datetime.now(UTC)
    for age in (timedelta(hours=49), timedelta(hours=47)):
        await repository.write_points(session, ts=now - age,
                                      points=[Point("web_processes", "all", 2.0, 2)])
        await repository.write_histograms(session, ts=now - age, histograms={"feed": (1, {"5": 1})})
    for age in (timedelta(days=31), timedelta(days=29)):
        await repository.write_rollups(session, [{
            "resolution_seconds": 3600, "name": "web_processes", "label": "all",
            "ts": now - age, "value": 2.0, "max": 2.0, "samples": 720}])
    await session.commit()
    deleted = await expire(session, settings=app.state.settings, now=now)
    await session.commit()
    assert deleted["metrics_samples"] == 1
    assert deleted["metrics_histograms"] == 1
    assert deleted["metrics_rollups"] == 1
    assert await session.scalar(select(func.min(MetricsSample.ts))) == now - timedelta(hours=47)
    assert await session.scalar(select(func.min(MetricsHistogram.ts))) == now - timedelta(hours=47)
    assert await session.scalar(select(func.min(MetricsRollup.ts))) == now - timedelta(days=29)


async def test_rum_rollups_are_the_p75_of_the_minute_s_beacons_apart_from_the_requests(app,
                                                                                        session):
    lcps: list[float] = []
    for i in range(6):
        ts = HOUR + timedelta(seconds=10 * i)
        # Five fast intervals and one slow one: the minute's p75 is a fast beacon, the largest
        # 10 s p75 a slow one.
        interval = [4.0] * 8 if i == 5 else [1.2] * 8
        lcps += interval
        requests = [0.02] * 10
        await repository.write_points(session, ts=ts, points=[
            Point("rum_lcp_p75_seconds", "all", interval[0], len(interval)),
            Point("http_latency_p95_seconds", "all", 0.02, len(requests))])
        await repository.write_histograms(session, ts=ts, histograms={
            "feed": (len(requests), hist(requests)), "rum:lcp": (len(interval), hist(interval))})
    await session.commit()
    now = HOUR + timedelta(minutes=1, seconds=30)
    await roll_up(session, settings=app.state.settings, resolution_seconds=60, now=now)
    await session.commit()
    minute = {(name, label): row for (name, label, ts), row in (await rollups(session, 60)).items()
              if ts == HOUR}
    lcp = minute["rum_lcp_p75_seconds", "all"]
    assert lcp.value == pytest.approx(1.2, rel=0.03)
    assert lcp.max == pytest.approx(4.0, rel=0.03)
    assert lcp.samples == 48
    # The beacons are not requests: the requests' percentiles and counts leave them out.
    assert minute["http_latency_p95_seconds", "all"].samples == 60
    assert minute["http_latency_p95_seconds", "all"].value == pytest.approx(0.02, rel=0.03)
    assert ("rum_lcp_p75_seconds", "feed") not in minute
    assert ("http_latency_p95_seconds", "rum:lcp") not in minute
