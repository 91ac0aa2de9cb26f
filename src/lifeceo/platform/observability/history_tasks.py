"""Periodic jobs of the metrics history: raw 10 s samples rolled up into 1 min and 1 h, and
everything past its retention deleted."""

from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.platform.observability import history_repository as repository
from lifeceo.platform.observability.histogram import percentiles
from lifeceo.platform.observability.history_series import (
    PERCENTILE_SERIES,
    RATIO_SERIES,
    histogram_series,
)
from lifeceo.platform.observability.history_service import ROLLUP_RESOLUTIONS_SECONDS
from lifeceo.platform.queue import JobContext, job
from lifeceo.settings import Settings

log = structlog.get_logger(__name__)
# The leader writes an interval half an interval after it ends, a late flush one more: a
# bucket is rolled up once this many intervals have passed since its end.
SETTLE_INTERVALS = 3


@job("metrics-rollup", queue="data-sync")
async def metrics_rollup(ctx: JobContext) -> None:
    written = {}
    for resolution in ROLLUP_RESOLUTIONS_SECONDS:
        async with ctx.transaction() as session:
            written[f"{resolution}s"] = await roll_up(session, settings=ctx.settings,
                                                      resolution_seconds=resolution,
                                                      now=datetime.now(UTC))
    log.debug("metrics rolled up", **written)


@job("metrics-expire", queue="data-sync")
async def metrics_expire(ctx: JobContext) -> None:
    async with ctx.transaction() as session:
        deleted = await expire(session, settings=ctx.settings, now=datetime.now(UTC))
    log.info("old metrics deleted", **deleted)


async def roll_up(session: AsyncSession, *, settings: Settings, resolution_seconds: int,
                  now: datetime) -> int:
    """Roll up the buckets completed since the last rolled-up one (that one again, for samples
    written late), back to the start of the raw retention at most; returns the rows written."""
    settle = timedelta(seconds=SETTLE_INTERVALS * settings.metrics_history_interval_seconds)
    end = _floor(now - settle, resolution_seconds)
    earliest = _floor(now - timedelta(hours=settings.metrics_history_raw_retention_hours),
                      resolution_seconds)
    latest = await repository.latest_rollup(session, resolution_seconds=resolution_seconds)
    start = max(latest, earliest) if latest is not None else earliest
    if start >= end:
        return 0
    written = await repository.roll_up_samples(
        session, resolution_seconds=resolution_seconds, start=start, end=end,
        ratio_names=RATIO_SERIES, percentile_names=PERCENTILE_SERIES)
    rows = await _percentile_rollups(session, resolution_seconds=resolution_seconds, start=start,
                                     end=end)
    await repository.write_rollups(session, rows)
    return written + len(rows)


async def _percentile_rollups(session: AsyncSession, *, resolution_seconds: int,
                              start: datetime, end: datetime) -> list[dict]:
    """Percentiles of each bucket's merged histograms, per route class and over all of them,
    and of each RUM vital: the p95 of the minute's requests, which no average of 10 s p95s
    equals."""
    histograms: dict[tuple[tuple[str, ...], str, datetime], dict[int, int]] = {}
    quantiles: dict[tuple[str, ...], dict[str, float]] = {}
    for row in await repository.merged_histograms(session, resolution_seconds=resolution_seconds,
                                                  start=start, end=end):
        for label, series in histogram_series(row.route_class):
            names = tuple(series)
            quantiles[names] = series
            hist = histograms.setdefault((names, label, row.bucket), {})
            hist[row.index] = hist.get(row.index, 0) + row.count
    maxima = {(row.name, row.label, row.bucket): row.max
              for row in await repository.percentile_maxima(
                  session, resolution_seconds=resolution_seconds, start=start, end=end,
                  names=PERCENTILE_SERIES)}
    rows = []
    for (names, label, bucket), hist in histograms.items():
        values = percentiles(hist, tuple(quantiles[names].values()))
        observations = sum(hist.values())
        for name, quantile in quantiles[names].items():
            value = values[quantile]
            rows.append({"resolution_seconds": resolution_seconds, "name": name, "label": label,
                         "ts": bucket, "value": value,
                         "max": max(value, maxima.get((name, label, bucket), value)),
                         "samples": observations})
    return rows


async def expire(session: AsyncSession, *, settings: Settings, now: datetime) -> dict[str, int]:
    return await repository.expire(
        session,
        raw_before=now - timedelta(hours=settings.metrics_history_raw_retention_hours),
        rollups_before=now - timedelta(days=settings.metrics_history_rollup_retention_days))


def _floor(moment: datetime, seconds: int) -> datetime:
    epoch = moment.timestamp()
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)
