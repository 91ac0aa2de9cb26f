"""All SQL of the monitor."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.platform.monitor.incidents import RESOLVED, Known
from lifeceo.platform.monitor.models import (
    UNRESOLVED,
    MonitorAction,
    MonitorDetectorState,
    MonitorIncident,
    MonitorPrediction,
    MonitorTimelineEntry,
)
from lifeceo.platform.monitor.signals import Point
from lifeceo.platform.observability.history_models import MetricsRollup, MetricsSample


async def points(session: AsyncSession, *, name: str, since: datetime, until: datetime,
                 label: str | None = None) -> dict[str, list[Point]]:
    """One series' points after `since` up to `until`, oldest first, by label (only `label`'s,
    if given)."""
    query = (
        select(MetricsSample.label, MetricsSample.ts, MetricsSample.value, MetricsSample.samples)
        .where(MetricsSample.name == name, MetricsSample.ts > since, MetricsSample.ts <= until)
        .order_by(MetricsSample.label, MetricsSample.ts))
    if label is not None:
        query = query.where(MetricsSample.label == label)
    rows = await session.execute(query)
    found: dict[str, list[Point]] = {}
    for label, ts, value, samples in rows:
        found.setdefault(label, []).append(Point(ts, value, samples))
    return found


async def same_hour_points(session: AsyncSession, *, name: str, labels: list[str], now: datetime,
                           days: int, half_window: timedelta,
                           resolution_seconds: int) -> dict[str, list[Point]]:
    """One series' rollups of the given labels within `half_window` either side of `now`'s time
    of day on each of the previous `days` days, by label, oldest first. One primary-key range per
    day and label (a week is a few hundred rows a label): the bounds computed here, not in a join,
    which the planner answered with a sequential scan of every series' rollups (550 ms for 1.2
    million rows; 15 ms this way)."""
    days_ago = [now - timedelta(days=day) for day in range(1, days + 1)]
    rows = await session.execute(
        select(MetricsRollup.label, MetricsRollup.ts, MetricsRollup.value, MetricsRollup.samples)
        .where(MetricsRollup.resolution_seconds == resolution_seconds,
               MetricsRollup.name == name, MetricsRollup.label.in_(labels),
               or_(*(and_(MetricsRollup.ts > then - half_window,
                          MetricsRollup.ts <= then + half_window) for then in days_ago)))
        .order_by(MetricsRollup.label, MetricsRollup.ts))
    found: dict[str, list[Point]] = {}
    for label, ts, value, samples in rows:
        found.setdefault(label, []).append(Point(ts, value, samples))
    return found


def _known(row: MonitorIncident) -> Known:
    return Known(id=row.id, fingerprint=row.fingerprint, state=row.state, severity=row.severity,
                 last_detected_at=row.last_detected_at, resolved_at=row.resolved_at,
                 opened_at=row.opened_at)


async def unresolved(session: AsyncSession) -> dict[str, Known]:
    rows = await session.scalars(select(MonitorIncident).where(MonitorIncident.state != RESOLVED))
    return {row.fingerprint: _known(row) for row in rows}


async def resolved_since(session: AsyncSession, *, since: datetime) -> dict[str, Known]:
    """The last incident of each fingerprint resolved after `since`."""
    rows = await session.scalars(
        select(MonitorIncident)
        .where(MonitorIncident.state == RESOLVED, MonitorIncident.resolved_at > since)
        .order_by(MonitorIncident.fingerprint, MonitorIncident.resolved_at.desc())
        .ext(distinct_on(MonitorIncident.fingerprint)))
    return {row.fingerprint: _known(row) for row in rows}


async def open_incident(session: AsyncSession, **values: Any) -> int | None:
    """The new incident's id, or None if its fingerprint already has an unresolved one (another
    leader's, for a moment)."""
    # The partial index's predicate as a literal, as the index has it: as a bound parameter,
    # the generic plan psycopg prepares after 5 executions cannot prove the index applies
    # ("there is no unique or exclusion constraint matching the ON CONFLICT specification").
    return await session.scalar(
        insert(MonitorIncident).values(**values)
        .on_conflict_do_nothing(index_elements=["fingerprint"], index_where=UNRESOLVED)
        .returning(MonitorIncident.id))


async def update_incident(session: AsyncSession, incident_id: int, **values: Any) -> None:
    await session.execute(update(MonitorIncident).where(MonitorIncident.id == incident_id)
                          .values(**values))


async def count_detection(session: AsyncSession, incident_id: int, *, at: datetime,
                          **values: Any) -> None:
    await session.execute(
        update(MonitorIncident).where(MonitorIncident.id == incident_id)
        .values(detections=MonitorIncident.detections + 1, last_detected_at=at, **values))


async def add_timeline(session: AsyncSession, incident_id: int, *, at: datetime, kind: str,
                       detail: dict) -> None:
    session.add(MonitorTimelineEntry(incident_id=incident_id, at=at, kind=kind, detail=detail))


async def incidents(session: AsyncSession, *, state: str | None,
                    before: tuple[datetime, int] | None, limit: int) -> list[MonitorIncident]:
    """Newest first, by (opened_at, id) before the keyset `before`."""
    query = select(MonitorIncident).order_by(MonitorIncident.opened_at.desc(),
                                             MonitorIncident.id.desc())
    if state is not None:
        query = query.where(MonitorIncident.state == state)
    if before is not None:
        query = query.where(tuple_(MonitorIncident.opened_at, MonitorIncident.id)
                            < tuple_(*before))
    return list(await session.scalars(query.limit(limit)))


async def incident(session: AsyncSession, incident_id: int) -> MonitorIncident | None:
    return await session.get(MonitorIncident, incident_id)


async def timeline(session: AsyncSession, incident_id: int) -> list[MonitorTimelineEntry]:
    return list(await session.scalars(
        select(MonitorTimelineEntry).where(MonitorTimelineEntry.incident_id == incident_id)
        .order_by(MonitorTimelineEntry.at, MonitorTimelineEntry.id)))


async def state_counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(MonitorIncident.state, func.count())
                                 .group_by(MonitorIncident.state))
    return dict(list(rows))


async def add_prediction(session: AsyncSession, **values: Any) -> None:
    session.add(MonitorPrediction(outcome="pending", **values))


async def predictions(session: AsyncSession, *, incident_id: int | None = None,
                      outcome: str | None = None, limit: int) -> list[MonitorPrediction]:
    query = select(MonitorPrediction).order_by(MonitorPrediction.made_at.desc(),
                                               MonitorPrediction.id.desc())
    if incident_id is not None:
        query = query.where(MonitorPrediction.incident_id == incident_id)
    if outcome is not None:
        query = query.where(MonitorPrediction.outcome == outcome)
    return list(await session.scalars(query.limit(limit)))


async def outcome_counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(MonitorPrediction.outcome, func.count())
                                 .group_by(MonitorPrediction.outcome))
    return dict(list(rows))


async def judge(session: AsyncSession, prediction_id: int, *, outcome: str,
                at: datetime) -> None:
    await session.execute(update(MonitorPrediction).where(MonitorPrediction.id == prediction_id)
                          .values(outcome=outcome, judged_at=at))


async def save_detector_states(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    statement = insert(MonitorDetectorState).values(rows)
    await session.execute(statement.on_conflict_do_update(
        index_elements=["name"],
        set_={column: statement.excluded[column] for column in rows[0] if column != "name"}))


async def detector_states(session: AsyncSession) -> list[MonitorDetectorState]:
    return list(await session.scalars(select(MonitorDetectorState)
                                      .order_by(MonitorDetectorState.name)))


async def add_action(session: AsyncSession, **values: Any) -> MonitorAction:
    row = MonitorAction(**values)
    session.add(row)
    await session.flush()
    return row


async def action_history(session: AsyncSession, *, since: datetime,
                         unsettled: tuple[str, ...]) -> list[MonitorAction]:
    """Attempts proposed after `since` and every one still in an `unsettled` outcome, oldest
    first."""
    return list(await session.scalars(
        select(MonitorAction)
        .where(or_(MonitorAction.proposed_at > since, MonitorAction.outcome.in_(unsettled)))
        .order_by(MonitorAction.proposed_at, MonitorAction.id)))


async def update_action(session: AsyncSession, action_id: int, **values: Any) -> None:
    await session.execute(update(MonitorAction).where(MonitorAction.id == action_id)
                          .values(**values))


async def actions(session: AsyncSession, *, outcome: str | None, first: str,
                  limit: int) -> list[MonitorAction]:
    """Those in outcome `first` first, then newest first."""
    query = select(MonitorAction).order_by(
        case((MonitorAction.outcome == first, 0), else_=1), MonitorAction.proposed_at.desc(),
        MonitorAction.id.desc())
    if outcome is not None:
        query = query.where(MonitorAction.outcome == outcome)
    return list(await session.scalars(query.limit(limit)))


async def action(session: AsyncSession, action_id: int) -> MonitorAction | None:
    """Locked until the transaction ends: two approvals of one action do not both pull."""
    return await session.scalar(select(MonitorAction).where(MonitorAction.id == action_id)
                                .with_for_update())


async def expire(session: AsyncSession, *, before: datetime) -> dict[str, int]:
    """Delete incidents resolved before `before` (their timelines, predictions and actions go
    with them) and the actions of other incidents settled before it; the rows deleted."""
    incidents = await session.execute(
        delete(MonitorIncident)
        .where(MonitorIncident.state == RESOLVED, MonitorIncident.resolved_at < before))
    actions = await session.execute(
        delete(MonitorAction).where(MonitorAction.settled_at < before))
    return {"incidents": incidents.rowcount, "actions": actions.rowcount}
