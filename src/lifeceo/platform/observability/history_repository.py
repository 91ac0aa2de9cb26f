"""All SQL of the metrics history."""

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.platform.observability.history_aggregate import Point
from lifeceo.platform.observability.history_models import (
    MetricsHistogram,
    MetricsRollup,
    MetricsSample,
    MetricsStaging,
)

# date_bin's origin: buckets start on whole minutes and hours of UTC.
EPOCH = "TIMESTAMPTZ '1970-01-01 00:00:00+00'"


async def stage(session: AsyncSession, *, interval_start: datetime, process: str,
                payload: dict) -> None:
    session.add(MetricsStaging(interval_start=interval_start, process=process, payload=payload))


async def take_staged(session: AsyncSession, *, until: datetime) -> list[Any]:
    """Staged rows of intervals that started before `until`, locked: a second leader (the
    lock changed hands meanwhile) waits, then finds them gone."""
    rows = await session.execute(
        select(MetricsStaging.id, MetricsStaging.interval_start, MetricsStaging.payload)
        .where(MetricsStaging.interval_start < until)
        .order_by(MetricsStaging.id)
        .with_for_update())
    return list(rows)


async def delete_staged(session: AsyncSession, ids: list[int]) -> None:
    await session.execute(delete(MetricsStaging).where(MetricsStaging.id.in_(ids)))


async def written_intervals(session: AsyncSession, candidates: list[datetime]) -> set[datetime]:
    """Those of the intervals the leader has written (each written one has `web_processes`)."""
    if not candidates:
        return set()
    found = await session.scalars(select(MetricsSample.ts).where(
        MetricsSample.name == "web_processes", MetricsSample.label == "all",
        MetricsSample.ts.in_(candidates)))
    return set(found)


async def write_points(session: AsyncSession, *, ts: datetime, points: list[Point]) -> int:
    """Insert the interval's points; an interval already written keeps its first values (the
    samples' key makes a second leader's write a no-op). Returns how many were new."""
    if not points:
        return 0
    rows = [{"name": p.name, "label": p.label, "ts": ts, "value": p.value, "samples": p.samples}
            for p in points]
    result = await session.execute(
        insert(MetricsSample).values(rows).on_conflict_do_nothing().returning(MetricsSample.name))
    return len(result.all())


async def write_histograms(session: AsyncSession, *, ts: datetime,
                           histograms: dict[str, tuple[int, dict]]) -> None:
    if not histograms:
        return
    rows = [{"route_class": name, "ts": ts, "requests": requests, "buckets": buckets}
            for name, (requests, buckets) in histograms.items()]
    await session.execute(insert(MetricsHistogram).values(rows).on_conflict_do_nothing())


async def latest_rollup(session: AsyncSession, *, resolution_seconds: int) -> datetime | None:
    return await session.scalar(select(func.max(MetricsRollup.ts))
                                .where(MetricsRollup.resolution_seconds == resolution_seconds))


async def roll_up_samples(session: AsyncSession, *, resolution_seconds: int, start: datetime,
                          end: datetime, ratio_names: tuple[str, ...],
                          percentile_names: tuple[str, ...]) -> int:
    """Every series but the percentiles into buckets of the resolution: mean (ratios weighted
    by their samples), max, summed samples. Returns the rows written."""
    result = await session.execute(text(f"""
        INSERT INTO metrics_rollups (resolution_seconds, name, label, ts, value, max, samples)
        SELECT :resolution, name, label,
               date_bin(make_interval(secs => :resolution), ts, {EPOCH}) AS bucket,
               CASE WHEN name = ANY(:ratios)
                    THEN COALESCE(sum(value * samples) / NULLIF(sum(samples), 0), avg(value))
                    ELSE avg(value) END,
               max(value), sum(samples)
          FROM metrics_samples
         WHERE ts >= :start AND ts < :end AND NOT (name = ANY(:percentiles))
         GROUP BY name, label, bucket
        ON CONFLICT (resolution_seconds, name, label, ts) DO UPDATE
           SET value = EXCLUDED.value, max = EXCLUDED.max, samples = EXCLUDED.samples
    """), {"resolution": resolution_seconds, "start": start, "end": end,
           "ratios": list(ratio_names), "percentiles": list(percentile_names)})
    return result.rowcount


async def merged_histograms(session: AsyncSession, *, resolution_seconds: int, start: datetime,
                            end: datetime) -> list[Any]:
    """(route_class, bucket start, histogram bucket, count) summed over each rollup bucket."""
    rows = await session.execute(text(f"""
        SELECT h.route_class,
               date_bin(make_interval(secs => :resolution), h.ts, {EPOCH}) AS bucket,
               b.key::int AS index, sum(b.value::bigint)::bigint AS count
          FROM metrics_histograms h, jsonb_each_text(h.buckets) AS b
         WHERE h.ts >= :start AND h.ts < :end
         GROUP BY 1, 2, 3
    """), {"resolution": resolution_seconds, "start": start, "end": end})
    return list(rows)


async def percentile_maxima(session: AsyncSession, *, resolution_seconds: int, start: datetime,
                            end: datetime, names: tuple[str, ...]) -> list[Any]:
    """(name, label, bucket start, largest raw value) of the percentile series."""
    rows = await session.execute(text(f"""
        SELECT name, label, date_bin(make_interval(secs => :resolution), ts, {EPOCH}) AS bucket,
               max(value) AS max
          FROM metrics_samples
         WHERE ts >= :start AND ts < :end AND name = ANY(:names)
         GROUP BY 1, 2, 3
    """), {"resolution": resolution_seconds, "start": start, "end": end, "names": list(names)})
    return list(rows)


async def write_rollups(session: AsyncSession, rows: list[dict]) -> None:
    if not rows:
        return
    statement = insert(MetricsRollup).values(rows)
    await session.execute(statement.on_conflict_do_update(
        index_elements=["resolution_seconds", "name", "label", "ts"],
        set_={"value": statement.excluded.value, "max": statement.excluded.max,
              "samples": statement.excluded.samples}))


async def expire(session: AsyncSession, *, raw_before: datetime, rollups_before: datetime) -> dict:
    """Delete raw samples, histograms and stale staged rows before `raw_before`, and rollups
    before `rollups_before`; returns the counts per table."""
    deleted = {}
    for table, column, cutoff in (
        (MetricsSample, MetricsSample.ts, raw_before),
        (MetricsHistogram, MetricsHistogram.ts, raw_before),
        (MetricsStaging, MetricsStaging.interval_start, raw_before),
        (MetricsRollup, MetricsRollup.ts, rollups_before),
    ):
        result = await session.execute(delete(table).where(column < cutoff))
        deleted[table.__tablename__] = result.rowcount
    return deleted


async def raw_points(session: AsyncSession, *, name: str, label: str | None, start: datetime,
                     end: datetime, step_seconds: int) -> list[Any]:
    """(label, bucket, value, max, samples) of raw samples in buckets of `step_seconds`, the
    first bucket being the one `start` falls in."""
    rows = await session.execute(text(f"""
        SELECT label, date_bin(make_interval(secs => :step), ts, {EPOCH}) AS bucket,
               avg(value) AS value, max(value) AS max, sum(samples)::bigint AS samples
          FROM metrics_samples
         WHERE name = :name AND (CAST(:label AS text) IS NULL OR label = :label)
           AND ts >= date_bin(make_interval(secs => :step), :start, {EPOCH}) AND ts < :end
         GROUP BY 1, 2 ORDER BY 1, 2
    """), {"name": name, "label": label, "start": start, "end": end, "step": step_seconds})
    return list(rows)


async def rollup_points(session: AsyncSession, *, resolution_seconds: int, name: str,
                        label: str | None, start: datetime, end: datetime,
                        step_seconds: int) -> list[Any]:
    """(label, bucket, value, max, samples) of one rollup resolution in buckets of the step."""
    rows = await session.execute(text(f"""
        SELECT label, date_bin(make_interval(secs => :step), ts, {EPOCH}) AS bucket,
               avg(value) AS value, max(max) AS max, sum(samples)::bigint AS samples
          FROM metrics_rollups
         WHERE resolution_seconds = :resolution AND name = :name
           AND (CAST(:label AS text) IS NULL OR label = :label)
           AND ts >= date_bin(make_interval(secs => :step), :start, {EPOCH}) AND ts < :end
         GROUP BY 1, 2 ORDER BY 1, 2
    """), {"resolution": resolution_seconds, "name": name, "label": label, "start": start,
           "end": end, "step": step_seconds})
    return list(rows)

