"""Reading the metrics history: which table answers a range at a step, within the limits."""

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.errors import Unprocessable
from lifeceo.platform.http.params import assume_utc
from lifeceo.platform.observability import history_repository as repository
from lifeceo.platform.observability.history_schemas import LabelSeries, SeriesPoint, SeriesReport
from lifeceo.platform.observability.history_series import SERIES
from lifeceo.settings import Settings

ROLLUP_RESOLUTIONS_SECONDS = (60, 3600)


def choose_resolution(settings: Settings, *, start: datetime, end: datetime, step: int | None,
                      now: datetime) -> tuple[float, int]:
    """(resolution, step): the coarsest kept resolution no coarser than the step (rollups
    before raw samples at equal fit: their percentiles are re-merged, not averaged); without a
    step, the finest one whose points fit. Raw samples are kept for less time, so a range
    reaching past them is read from the rollups."""
    raw = settings.metrics_history_interval_seconds
    raw_since = now - timedelta(hours=settings.metrics_history_raw_retention_hours)
    kept: list[float] = list(ROLLUP_RESOLUTIONS_SECONDS)
    if start >= raw_since:
        kept.insert(0, raw)
    span = (end - start).total_seconds()
    limit = settings.metrics_history_max_points
    if step is None:
        resolution = next((r for r in kept if span / max(r, 1) <= limit), kept[-1])
        step = max(1, math.ceil(resolution))
    else:
        fitting = [r for r in kept if r <= step]
        resolution = fitting[-1] if fitting else kept[0]
        step = max(step, math.ceil(resolution))
    points = math.ceil(span / step)
    if points > limit:
        raise Unprocessable(f"{points} points per series at a step of {step} s; at most {limit}: "
                            f"ask for a step of at least {math.ceil(span / limit)} s.",
                            max_points=limit)
    return resolution, step


class HistoryService:
    async def series(self, *, session: AsyncSession, settings: Settings, name: str,
                     label: str | None, start: datetime | None, end: datetime | None,
                     step: int | None) -> SeriesReport:
        now = datetime.now(UTC)
        end = assume_utc(end) if end is not None else now
        try:
            start = assume_utc(start) if start is not None else end - timedelta(hours=1)
        except OverflowError:  # `to` in the first hour of year 1
            raise Unprocessable("`to` is out of range.") from None
        if start >= end:
            raise Unprocessable("`from` must be before `to`.")
        resolution, step = choose_resolution(settings, start=start, end=end, step=step, now=now)
        if resolution in ROLLUP_RESOLUTIONS_SECONDS:
            rows = await repository.rollup_points(session, resolution_seconds=int(resolution),
                                                  name=name, label=label, start=start, end=end,
                                                  step_seconds=step)
        else:
            rows = await repository.raw_points(session, name=name, label=label, start=start,
                                               end=end, step_seconds=step)
        by_label: dict[str, list[SeriesPoint]] = {}
        for row in rows:
            by_label.setdefault(row.label, []).append(SeriesPoint(
                ts=row.bucket, value=row.value, max=row.max, samples=row.samples))
        meta = SERIES[name]
        return SeriesReport(
            name=name, kind=meta.kind, unit=meta.unit, label_name=meta.label,
            description=meta.description, start=start, end=end, resolution_seconds=resolution,
            step_seconds=step,
            series=[LabelSeries(label=key, points=points) for key, points in by_label.items()])


history_service = HistoryService()
