"""Tables of the metrics history: staged per-process deltas, raw samples, their rollups and the
raw latency histograms the rollups re-merge."""

from datetime import datetime

from sqlalchemy import BigInteger, Float, Index, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lifeceo.platform.db.base import Base, IdMixin
from lifeceo.platform.observability.history_series import LABEL_CHARS

# Series names are short (history_series.SERIES).
NAME_CHARS = 64


class MetricsStaging(IdMixin, Base):
    """One web process's counts over one interval, until the leader aggregates them. Unlogged:
    a crash loses at most an interval of counts, and nothing here is worth WAL traffic."""

    __tablename__ = "metrics_staging"
    __table_args__ = (
        Index("ix_metrics_staging_interval_start", "interval_start"),
        {"prefixes": ["UNLOGGED"]},
    )

    interval_start: Mapped[datetime]
    # host:pid:random, so that a respawned process with a recycled pid is another one.
    process: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict] = mapped_column(JSONB)
    staged_at: Mapped[datetime] = mapped_column(server_default=func.now())


class MetricsSample(Base):
    """One value of one series at the resolution of the sampler (10 s); `samples` is how many
    observations it stands on (requests for a latency or error ratio, lookups for a hit ratio,
    process readings for a gauge), so that a reader can ignore thin ones."""

    __tablename__ = "metrics_samples"

    name: Mapped[str] = mapped_column(String(NAME_CHARS), primary_key=True)
    label: Mapped[str] = mapped_column(String(LABEL_CHARS), primary_key=True)
    ts: Mapped[datetime] = mapped_column(primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    samples: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        # Append-only in time order: a BRIN index is a few pages where a B-tree on ts would be
        # as large as the table; the rollup and expiry jobs scan by time.
        Index("ix_metrics_samples_ts_brin", "ts", postgresql_using="brin"),
    )


class MetricsRollup(Base):
    """A series over one minute or one hour: `value` as the series' kind aggregates (mean,
    sample-weighted mean of a ratio, percentile of the re-merged histograms), `max` the largest
    raw value in it."""

    __tablename__ = "metrics_rollups"

    resolution_seconds: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_CHARS), primary_key=True)
    label: Mapped[str] = mapped_column(String(LABEL_CHARS), primary_key=True)
    ts: Mapped[datetime] = mapped_column(primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)
    samples: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_metrics_rollups_ts_brin", "ts", postgresql_using="brin"),
    )


class MetricsHistogram(Base):
    """The merged latency histogram of a route class over one raw interval: sparse {bucket:
    count} over lifeceo.platform.observability.histogram's buckets. Kept as long as raw samples,
    so that a rollup's percentiles are the percentiles of its requests, not an average of
    percentiles. A RUM vital's histogram is kept here too, its `route_class` `rum:lcp` and its
    `requests` the beacons (history_series.histogram_series)."""

    __tablename__ = "metrics_histograms"

    route_class: Mapped[str] = mapped_column(String(LABEL_CHARS), primary_key=True)
    ts: Mapped[datetime] = mapped_column(primary_key=True)
    requests: Mapped[int] = mapped_column(BigInteger)
    buckets: Mapped[dict] = mapped_column(JSONB)

    __table_args__ = (
        Index("ix_metrics_histograms_ts_brin", "ts", postgresql_using="brin"),
    )
