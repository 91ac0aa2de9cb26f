"""Tables of analytics: raw tracked events, their hourly counts, and browser timing samples."""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lifeceo.platform.db.base import Base

# exposure: an experiment's variant shown to someone (a feature flag with variants).
EVENT_KINDS = ("signup", "post_viewed", "search", "like", "exposure")
# As long as the search endpoint accepts.
MAX_QUERY_CHARS = 200


class AnalyticsEvent(Base):
    """One tracked event, written in bulk by the track-events job and deleted after the
    retention period.

    Keyed by the batch it was flushed in and its place there, so that a job run twice inserts
    each event once. No foreign keys: an append-only log should not lock the users it names, nor
    slow their deletion."""

    __tablename__ = "analytics_events"

    batch_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    # None: an anonymous visitor.
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    # The post viewed or liked; None for a signup or a search.
    subject_id: Mapped[int | None] = mapped_column(BigInteger)
    # A search's query, normalised and lower-cased; an exposure's "flag:variant"; else None.
    query: Mapped[str | None] = mapped_column(String(MAX_QUERY_CHARS))
    occurred_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint(f"kind IN {EVENT_KINDS}", name="kind"),
        # The aggregate job reads an hour at a time; the cleanup job deletes the oldest first.
        Index("ix_analytics_events_occurred", "occurred_at"),
        # Trending searches read a day of searches only, among far more views.
        Index("ix_analytics_events_searches", "occurred_at", postgresql_where="kind = 'search'"),
    )


class AnalyticsHourly(Base):
    """How many events of a kind occurred in an hour; kept after the raw rows are gone."""

    __tablename__ = "analytics_hourly"

    hour: Mapped[datetime] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


class RumSample(Base):
    """One browser timing beacon (real-user monitoring). Metrics a browser did not report are
    NULL, and percentiles skip them."""

    __tablename__ = "rum_samples"

    # Chosen when the beacon is accepted: the record-rum job inserts it once however often it runs.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(200))
    lcp_ms: Mapped[int | None] = mapped_column(Integer)
    inp_ms: Mapped[int | None] = mapped_column(Integer)
    cls: Mapped[float | None] = mapped_column(Float)
    ttfb_ms: Mapped[int | None] = mapped_column(Integer)
    load_ms: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime]

    __table_args__ = (
        # Percentiles are read over a recent window per path; cleanup deletes the oldest.
        Index("ix_rum_samples_received", "received_at"),
    )
