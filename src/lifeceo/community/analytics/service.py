"""Rules of analytics: an event counts only if what it records was committed, and only
administrators read the numbers."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from lifeceo.community.analytics import repository
from lifeceo.community.analytics.buffer import EventBuffer, buffer_for
from lifeceo.community.analytics.models import MAX_QUERY_CHARS
from lifeceo.community.analytics.schemas import (
    RUM_METRICS,
    EventKind,
    HourlyCount,
    HourlyCounts,
    PagePerformance,
    Percentiles,
    PerformanceReport,
    RumBeacon,
)
from lifeceo.community.users.models import User
from lifeceo.errors import BadRequest, Forbidden
from lifeceo.platform.observability import rum
from lifeceo.platform.queue import enqueue

RECORD_RUM_JOB = "record-rum"
# Enough for a month of hourly counts of every kind in one answer (744 hours x 4 kinds).
MAX_REPORT_DAYS = 31
# The report lists the busiest pages; the rest are a long tail of rarely seen paths.
MAX_REPORT_PAGES = 200
_STAGED = "analytics_events"


def _hand_over(session: Session) -> None:
    """The transaction committed: its events go to the buffer. A savepoint's release also
    reports a commit, while the transaction around it may still roll back: that one waits."""
    if session.get_nested_transaction() is None:
        buffer = buffer_for(session)
        if buffer is not None:
            buffer.add(session.info[_STAGED])
        session.info[_STAGED].clear()


def _forget(session: Session, transaction: SessionTransaction) -> None:
    """The transaction ended (committed, rolled back or closed): nothing staged survives it."""
    if transaction.parent is None:
        session.info[_STAGED].clear()


class AnalyticsService:
    def track(self, *, session: AsyncSession, kind: EventKind, user_id: int | None = None,
              subject_id: int | None = None, query: str | None = None) -> None:
        """Record that something happened, if and when the session's transaction commits (at
        once if none is open: what happened then wrote nothing, a view served from the cache)."""
        buffer = buffer_for(session)
        if buffer is None:
            return
        tracked = {"kind": kind, "user_id": user_id, "subject_id": subject_id, "query": query,
                   "occurred_at": datetime.now(UTC).isoformat()}
        if not session.in_transaction():
            buffer.add([tracked])
            return
        staged = session.info.get(_STAGED)
        if staged is None:
            staged = session.info[_STAGED] = []
            event.listen(session.sync_session, "after_commit", _hand_over)
            event.listen(session.sync_session, "after_transaction_end", _forget)
        staged.append(tracked)

    def exposure_listener(self, buffer: EventBuffer) -> Callable[[str, str, int | None], None]:
        """For the flag store: each experiment variant shown to someone becomes an exposure
        event (its query "flag:variant"), buffered like any other; there is no write to wait
        for, the showing is the event."""
        def exposed(flag: str, variant: str, user_id: int | None) -> None:
            buffer.add([{"kind": "exposure", "user_id": user_id, "subject_id": None,
                         "query": f"{flag}:{variant}"[:MAX_QUERY_CHARS],
                         "occurred_at": datetime.now(UTC).isoformat()}])

        return exposed

    async def hourly_counts(self, *, session: AsyncSession, actor: User,
                            since: datetime | None, until: datetime | None,
                            kind: EventKind | None) -> HourlyCounts:
        _require_admin(actor)
        until = until or datetime.now(UTC)
        since = since or until - timedelta(days=1)
        if since.tzinfo is None or until.tzinfo is None:
            raise BadRequest("since and until need a time zone, e.g. 2025-01-31T00:00:00Z.")
        if not timedelta(0) < until - since <= timedelta(days=MAX_REPORT_DAYS):
            raise BadRequest(f"until must be after since, by at most {MAX_REPORT_DAYS} days.")
        rows = await repository.hourly_counts(session, since=since, until=until, kind=kind)
        return HourlyCounts(since=since, until=until,
                            items=[HourlyCount(hour=row.hour, kind=row.kind, count=row.count)
                                   for row in rows])

    async def accept_beacon(self, *, session: AsyncSession, beacon: RumBeacon) -> None:
        """Queued in the request's transaction: a 202 means the sample will be written. Its
        vitals are counted at once into this process's share of the metrics history, which the
        monitor reads: the browser measured them whether or not the sample is stored."""
        await enqueue(session, RECORD_RUM_JOB, sample_id=str(uuid.uuid4()),
                      received_at=datetime.now(UTC).isoformat(), **beacon.model_dump())
        rum.observe_beacon(lcp_ms=beacon.lcp_ms, inp_ms=beacon.inp_ms, ttfb_ms=beacon.ttfb_ms)

    async def page_performance(self, *, session: AsyncSession, actor: User, hours: int,
                               min_samples: int) -> PerformanceReport:
        _require_admin(actor)
        since = datetime.now(UTC) - timedelta(hours=hours)
        rows = await repository.rum_percentiles(session, since=since,
                                                max_pages=MAX_REPORT_PAGES)
        return PerformanceReport(since=since, min_samples=min_samples,
                                 pages=[_page(row, min_samples) for row in rows])


def _page(row: dict, min_samples: int) -> PagePerformance:
    def percentiles(name: str) -> Percentiles:
        samples = row[f"{name}_samples"]
        values = row[name] if samples >= min_samples and row[name] else [None] * 3
        p50, p75, p95 = (None if value is None else round(value, 3) for value in values)
        return Percentiles(samples=samples, p50=p50, p75=p75, p95=p95)

    return PagePerformance(path=row["path"], samples=row["samples"],
                           **{name: percentiles(name) for name in RUM_METRICS})


def _require_admin(actor: User) -> None:
    if not actor.is_admin:
        raise Forbidden("Only administrators may read analytics.")


analytics_service = AnalyticsService()
