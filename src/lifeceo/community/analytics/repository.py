"""All SQL of analytics: bulk inserts of events, hourly counts, browser timings and their
percentiles. What is past retention is deleted by lifeceo.community.maintenance."""

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Float,
    String,
    bindparam,
    func,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.analytics.models import AnalyticsEvent, AnalyticsHourly, RumSample
from lifeceo.community.analytics.schemas import RUM_METRICS

PERCENTILES = (0.5, 0.75, 0.95)


async def insert_events(session: AsyncSession, *, batch_id: uuid.UUID,
                        events: list[dict]) -> int:
    """One INSERT for the whole batch, whatever its size: the columns travel as arrays and
    unnest() turns them back into rows. Events of the batch already written (the job ran before)
    are skipped; returns how many were new."""
    rows = func.unnest(
        bindparam("kinds", [event["kind"] for event in events], type_=ARRAY(String)),
        bindparam("user_ids", [event["user_id"] for event in events], type_=ARRAY(BigInteger)),
        bindparam("subject_ids", [event["subject_id"] for event in events],
                  type_=ARRAY(BigInteger)),
        # Events flushed before searches kept their query have none.
        bindparam("queries", [event.get("query") for event in events], type_=ARRAY(String)),
        bindparam("occurred", [datetime.fromisoformat(event["occurred_at"]) for event in events],
                  type_=ARRAY(DateTime(timezone=True))),
    ).table_valued("kind", "user_id", "subject_id", "query", "occurred_at",
                   with_ordinality="seq").render_derived(name="rows")
    statement = (
        pg_insert(AnalyticsEvent)
        .from_select(["batch_id", "seq", "kind", "user_id", "subject_id", "query", "occurred_at"],
                     select(bindparam("batch_id", batch_id), rows.c.seq, rows.c.kind,
                            rows.c.user_id, rows.c.subject_id, rows.c.query,
                            rows.c.occurred_at))
        .on_conflict_do_nothing()
    )
    return (await session.execute(statement)).rowcount


async def aggregate_hours(session: AsyncSession, *, since: datetime, until: datetime) -> int:
    """Count the raw events of every hour from `since` to `until` (hour-aligned) into
    analytics_hourly, replacing what an earlier run wrote: running it again changes nothing.
    Served by ix_analytics_events_occurred; returns how many (hour, kind) counts changed.

    An hour whose raw events are gone keeps its counts: they outlive the raw rows by design."""
    # In UTC whatever the server's TimeZone: a zone half an hour off would split every hour.
    hour = func.date_trunc("hour", AnalyticsEvent.occurred_at, "UTC")
    counted = (
        select(hour, AnalyticsEvent.kind, func.count())
        .where(AnalyticsEvent.occurred_at >= since, AnalyticsEvent.occurred_at < until)
        .group_by(hour, AnalyticsEvent.kind)
    )
    statement = pg_insert(AnalyticsHourly).from_select(["hour", "kind", "count"], counted)
    statement = statement.on_conflict_do_update(
        index_elements=[AnalyticsHourly.hour, AnalyticsHourly.kind],
        set_={"count": statement.excluded.count},
        where=AnalyticsHourly.count != statement.excluded.count,
    )
    return (await session.execute(statement)).rowcount


async def hourly_counts(session: AsyncSession, *, since: datetime, until: datetime,
                        kind: str | None) -> list[AnalyticsHourly]:
    query = (select(AnalyticsHourly)
             .where(AnalyticsHourly.hour >= since, AnalyticsHourly.hour < until)
             .order_by(AnalyticsHourly.hour, AnalyticsHourly.kind))
    if kind is not None:
        query = query.where(AnalyticsHourly.kind == kind)
    return list(await session.scalars(query))


async def insert_rum_sample(session: AsyncSession, **values: object) -> bool:
    """False if the sample was written before (the job ran twice)."""
    inserted = await session.scalar(
        pg_insert(RumSample).values(**values).on_conflict_do_nothing().returning(RumSample.id))
    return inserted is not None


async def rum_percentiles(session: AsyncSession, *, since: datetime,
                          max_pages: int) -> list[dict]:
    """Per page, the sample count and, per metric, its own count and p50/p75/p95; the busiest
    pages first. Served by ix_rum_samples_received."""
    fractions = bindparam("fractions", list(PERCENTILES), type_=ARRAY(Float))
    columns = [func.count().label("samples")]
    for name in RUM_METRICS:
        metric = getattr(RumSample, name)
        columns.append(func.count(metric).label(f"{name}_samples"))
        columns.append(type_coerce(func.percentile_cont(fractions).within_group(metric),
                                   ARRAY(Float)).label(name))
    query = (select(RumSample.path, *columns).where(RumSample.received_at >= since)
             .group_by(RumSample.path).order_by(func.count().desc(), RumSample.path)
             .limit(max_pages))
    return [dict(row._mapping) for row in await session.execute(query)]


async def trending_searches(session: AsyncSession, *, since: datetime, min_searchers: int,
                            limit: int) -> list[tuple[str, int]]:
    """The queries searched by the most distinct signed-in people since `since`, each with
    that number, those searched by fewer than `min_searchers` left out."""
    searchers = func.count(AnalyticsEvent.user_id.distinct())
    rows = await session.execute(
        select(AnalyticsEvent.query, searchers)
        .where(AnalyticsEvent.kind == "search", AnalyticsEvent.occurred_at >= since,
               AnalyticsEvent.query.is_not(None), AnalyticsEvent.user_id.is_not(None))
        .group_by(AnalyticsEvent.query)
        .having(searchers >= min_searchers)
        .order_by(searchers.desc(), AnalyticsEvent.query)
        .limit(limit))
    return [(query, count) for query, count in rows]
