"""Jobs of analytics: writing tracked events in bulk, counting them per hour, and recording
browser timing beacons. Each may run twice and leaves the same rows."""

import uuid
from datetime import UTC, datetime, timedelta

import structlog

from lifeceo.community.analytics import repository
from lifeceo.community.analytics.buffer import TRACK_EVENTS_JOB
from lifeceo.community.analytics.service import RECORD_RUM_JOB
from lifeceo.platform.queue import JobContext, job

log = structlog.get_logger(__name__)
# Hours recounted by each run, the current one included: the next two hourly runs count every
# hour again, so that a missed run, or events written after their hour ended, change nothing.
AGGREGATE_HOURS = 3


@job(TRACK_EVENTS_JOB, queue="analytics")
async def track_events(ctx: JobContext, *, batch_id: str, events: list[dict]) -> None:
    async with ctx.transaction() as session:
        written = await repository.insert_events(session, batch_id=uuid.UUID(batch_id),
                                                 events=events)
    if written < len(events):
        log.info("analytics batch already written", batch_id=batch_id,
                 skipped=len(events) - written)


@job("analytics-aggregate", queue="data-sync")
async def aggregate_analytics(ctx: JobContext, *, timestamp: int | None = None,
                              hours: int = AGGREGATE_HOURS) -> None:
    """Hourly. The hours counted end with the one `timestamp` (seconds since the epoch; default
    now) falls in."""
    moment = datetime.fromtimestamp(timestamp, UTC) if timestamp else datetime.now(UTC)
    until = moment.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    async with ctx.transaction() as session:
        await repository.aggregate_hours(session, since=until - timedelta(hours=hours),
                                         until=until)


def _milliseconds(value: float | None) -> int | None:
    return None if value is None else round(value)


@job(RECORD_RUM_JOB, queue="performance-metrics")
async def record_rum(ctx: JobContext, *, sample_id: str, received_at: str, url: str,
                     lcp_ms: float | None, inp_ms: float | None, cls: float | None,
                     ttfb_ms: float | None, load_ms: float | None) -> None:
    async with ctx.transaction() as session:
        await repository.insert_rum_sample(
            session, id=uuid.UUID(sample_id), path=url, lcp_ms=_milliseconds(lcp_ms),
            inp_ms=_milliseconds(inp_ms), cls=cls, ttfb_ms=_milliseconds(ttfb_ms),
            load_ms=_milliseconds(load_ms), received_at=datetime.fromisoformat(received_at))
