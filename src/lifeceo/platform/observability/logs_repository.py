"""All SQL of the shipped log records."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.platform.observability.logs_models import LogRecordRow


async def write(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """One INSERT with a VALUES row per record."""
    if rows:
        await session.execute(insert(LogRecordRow).values(rows))


async def records(session: AsyncSession, *, request_id: str | None, trace_id: str | None,
                  levels: Sequence[str] | None, since: datetime | None, until: datetime | None,
                  node: str | None, before: tuple[datetime, int] | None,
                  limit: int) -> list[LogRecordRow]:
    """Newest first (time, then arrival), after `since`, before `until` and the keyset `before`."""
    query = select(LogRecordRow).order_by(LogRecordRow.time.desc(), LogRecordRow.id.desc())
    if request_id is not None:
        query = query.where(LogRecordRow.request_id == request_id)
    if trace_id is not None:
        query = query.where(LogRecordRow.trace_id == trace_id)
    if levels is not None:
        query = query.where(LogRecordRow.level.in_(levels))
    if since is not None:
        query = query.where(LogRecordRow.time > since)
    if until is not None:
        query = query.where(LogRecordRow.time < until)
    if node is not None:
        query = query.where(LogRecordRow.node == node)
    if before is not None:
        query = query.where(tuple_(LogRecordRow.time, LogRecordRow.id) < tuple_(*before))
    return list(await session.scalars(query.limit(limit)))


async def expire(session: AsyncSession, *, before: datetime, max_rows: int) -> dict[str, int]:
    """Delete the records logged before `before`, then the oldest arrivals past `max_rows`."""
    expired = await session.execute(delete(LogRecordRow).where(LogRecordRow.time < before))
    # Every row more than `max_rows` arrivals behind the newest: max(id) is one descent of the
    # primary key, where OFFSET would walk up to a million index entries each run. The ids of
    # rolled-back inserts are gaps, so this keeps at most `max_rows`, a bound, not a count.
    capped = await session.execute(text("""
        DELETE FROM log_records WHERE id <= (SELECT max(id) FROM log_records) - :max_rows
    """), {"max_rows": max_rows})
    return {"expired": expired.rowcount, "over_cap": capped.rowcount}


async def error_counts(session: AsyncSession, *, since: datetime, until: datetime,
                       step_seconds: float, max_groups: int) -> list[tuple[str, str, datetime, int]]:
    """Errors logged with an exception in (since, until], per group (error_groups) and per
    interval of `step_seconds` (its end): the `max_groups` groups with the most, the rest
    left out. Uses ix_log_records_level_time."""
    rows = await session.execute(text("""
        WITH counted AS (
            SELECT fields->>'error_type' AS error_type, fields->>'error_location' AS location,
                   date_bin(make_interval(secs => :step), time, TIMESTAMPTZ '2000-01-01')
                       + make_interval(secs => :step) AS ends,
                   count(*) AS errors
            FROM log_records
            WHERE level IN ('error', 'critical') AND time > :since AND time <= :until
              AND fields ? 'error_type'
            GROUP BY 1, 2, 3),
        groups AS (
            SELECT error_type, location FROM counted GROUP BY 1, 2
            ORDER BY sum(errors) DESC LIMIT :max_groups)
        SELECT counted.* FROM counted JOIN groups USING (error_type, location)
        ORDER BY ends
    """), {"step": step_seconds, "since": since, "until": until, "max_groups": max_groups})
    return [(row.error_type, row.location, row.ends, row.errors) for row in rows]
