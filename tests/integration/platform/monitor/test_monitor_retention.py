"""The monitor-expire job: incidents resolved before the retention go with their timelines,
predictions and actions; actions settled before it go too; everything else stays."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from lifeceo.platform.monitor import repository
from lifeceo.platform.monitor.models import (
    MonitorAction,
    MonitorIncident,
    MonitorPrediction,
    MonitorTimelineEntry,
)
from lifeceo.platform.monitor.tasks import expire

NOW = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)


async def incident(session, fingerprint: str, *, state: str, at: datetime) -> int:
    row = MonitorIncident(
        fingerprint=fingerprint, detector="error_burst", label="all", state=state,
        severity="critical", summary="errors", evidence={}, opened_at=at, last_detected_at=at,
        detections=1, mitigated_at=None, resolved_at=at if state == "resolved" else None)
    session.add(row)
    await session.flush()
    session.add(MonitorTimelineEntry(incident_id=row.id, at=at, kind="detected", detail={}))
    session.add(MonitorPrediction(
        incident_id=row.id, detector="memory_usage_high", series="process_rss_bytes",
        label="max", made_at=at, limit_value=1.0, rising=True, seconds=60.0, earliest=30.0,
        latest=90.0, outcome="hit", judged_at=at))
    session.add(action(row.id, fingerprint, settled_at=at))
    return row.id


def action(incident_id: int, fingerprint: str, *, settled_at: datetime | None) -> MonitorAction:
    return MonitorAction(
        incident_id=incident_id, action="shed", fingerprint=fingerprint, lever="shed",
        target="search", value="", outcome="mitigated" if settled_at else "verifying",
        proposed_at=settled_at or NOW, applied_at=settled_at or NOW, settled_at=settled_at,
        actor="monitor", note="")


async def test_old_resolved_incidents_and_settled_actions_are_deleted(app, session):
    settings = app.state.settings.model_copy(update={"monitor_retention_days": 30})
    old, recent = NOW - timedelta(days=31), NOW - timedelta(days=29)
    expired = await incident(session, "error_burst:old", state="resolved", at=old)
    kept = await incident(session, "error_burst:recent", state="resolved", at=recent)
    # Open for a month: the incident stays, its old settled action goes, its live one stays.
    lasting = await incident(session, "error_burst:lasting", state="open", at=old)
    session.add(action(lasting, "error_burst:lasting", settled_at=None))
    await session.flush()

    assert await expire(session, settings=settings, now=NOW) == {"incidents": 1, "actions": 1}
    assert set(await session.scalars(select(MonitorIncident.id))) == {kept, lasting}
    for table in (MonitorTimelineEntry, MonitorPrediction):
        assert set(await session.scalars(select(table.incident_id))) == {kept, lasting}
    assert sorted((row.incident_id, row.settled_at is None) for row in await session.scalars(
        select(MonitorAction))) == sorted([(kept, False), (lasting, True)])
    assert expired not in set(await session.scalars(select(MonitorAction.incident_id)))
    assert await session.scalar(select(func.count()).select_from(MonitorAction)) == 2


async def test_incidents_open_on_one_connection_past_the_prepared_statement_threshold(app):
    """psycopg prepares a statement on its 5th execution; the ON CONFLICT of the 6th and later
    must still find the partial unique index (its predicate is a literal, not a parameter)."""
    now = datetime.now(UTC)
    async with app.state.sessionmaker() as session, session.begin():
        opened = [await repository.open_incident(
            session, fingerprint=f"test:prepared-{n}", detector="test", label=f"prepared-{n}",
            state="open", severity="warning", summary="s", evidence={}, opened_at=now,
            last_detected_at=now, detections=1) for n in range(12)]
        again = await repository.open_incident(
            session, fingerprint="test:prepared-3", detector="test", label="prepared-3",
            state="open", severity="warning", summary="s", evidence={}, opened_at=now,
            last_detected_at=now, detections=1)
    assert None not in opened and len(set(opened)) == 12
    assert again is None
