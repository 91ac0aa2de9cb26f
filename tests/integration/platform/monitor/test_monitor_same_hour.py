"""Same-hour baselines from the 1-minute rollups in the real database: with four days of the
feed's morning p95 in metrics_rollups, the evaluation judges the feed against that hour, not
against the quieter hour before it; without them, against the hour before."""

from datetime import timedelta

from sqlalchemy.dialects.postgresql import insert
from tests.integration.platform.monitor.test_monitor_api import Clock, interval_now, write_points

from lifeceo.platform.monitor.leader import Monitor
from lifeceo.platform.observability.history_models import MetricsRollup

P95 = "http_latency_p95_seconds"


async def write_rollups(app, name: str, label: str, *, now, days: int, value: float,
                        half_minutes: int = 30) -> None:
    """1-minute rollups around now's time of day on each of the previous `days` days, with
    hours of others between them that the baseline must not read."""
    rows = [{"resolution_seconds": 60, "name": name, "label": label,
             "ts": now - timedelta(days=day, minutes=minute), "value": value + 0.001 * (minute % 5),
             "max": value * 2, "samples": 600}
            for day in range(1, days + 1) for minute in range(-half_minutes, half_minutes)]
    # Six hours earlier each day: a slow batch, not the same hour.
    rows += [{**row, "ts": row["ts"] - timedelta(hours=6), "value": 5.0} for row in rows]
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(insert(MetricsRollup).values(rows))


async def write_hour(app, *, now, peak: float) -> None:
    """An hour of the feed at ~20 ms, its last three intervals at `peak`."""
    await write_points(app, P95, "feed", [
        (now - timedelta(seconds=10 * i), peak if i < 3 else 0.020 + 0.001 * (i % 3), 100)
        for i in range(366)])


async def lead(app, now):
    monitor = Monitor(app.state.settings, app.state.engine, app.state.sessionmaker,
                      clock=Clock(now + timedelta(seconds=1)))
    try:
        return await monitor.lead()
    finally:
        await monitor.close()


async def test_the_evaluation_judges_a_route_class_against_its_same_hour(app):
    now = interval_now()
    await write_rollups(app, P95, "feed", now=now, days=4, value=0.080)
    await write_hour(app, now=now, peak=0.170)
    outcome = await lead(app, now)
    [found] = [d for d in outcome.detections if d.fingerprint == "slow_api_response:feed"]
    assert found.severity == "warning" and "anomalous" in found.summary
    learned = found.evidence["baseline"]
    assert learned["kind"] == "same_hour" and learned["days"] == 4
    # The slow batch six hours off is not this hour: the median is the morning's.
    assert abs(learned["median"] - 0.082) < 0.003 and learned["samples"] == 240
    [state] = [s for s in outcome.states if s.name == "slow_api_response"]
    assert state.baseline["kind"] == "same_hour"


async def test_a_peak_normal_at_that_hour_is_quiet_and_without_days_the_hour_before_rules(app):
    now = interval_now()
    await write_rollups(app, P95, "feed", now=now, days=4, value=0.080)
    await write_hour(app, now=now, peak=0.100)
    outcome = await lead(app, now)
    assert "slow_api_response:feed" not in {d.fingerprint for d in outcome.detections}

    # Two days of that hour only: the previous hour's 20 ms is the normal, and 100 ms is not.
    later = now + timedelta(hours=2)
    await write_rollups(app, P95, "feed", now=later, days=2, value=0.080)
    await write_hour(app, now=later, peak=0.100)
    outcome = await lead(app, later)
    [found] = [d for d in outcome.detections if d.fingerprint == "slow_api_response:feed"]
    assert found.evidence["baseline"]["kind"] == "rolling"
