"""What the detectors read: recent points of the metrics history, by series and label, and for
the statement detectors the database's own views (pg_stat_statements, pg_stat_activity)."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from lifeceo.platform.observability.activity import Backend

# Not a series of the metrics history: errors per group (observability.error_groups) and per
# interval, counted from every process's shipped log records; value and samples are the count.
LOGGED_ERRORS = "logged_errors"
DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Point:
    ts: datetime
    value: float
    # Observations behind the value (requests, cache lookups, process readings).
    samples: int


@dataclass(frozen=True, slots=True)
class Totals:
    """One statement's cumulative calls and execution time in a pg_stat_statements reading."""

    query: str
    calls: int
    total_ms: float

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.calls if self.calls else 0.0


@dataclass(frozen=True)
class StatementReadings:
    """This reading of pg_stat_statements and the leader's previous one, by query id: the
    deltas between them are the interval's statements. No previous reading: a new leader's
    first; `unavailable`: why there is no reading at all."""

    at: datetime
    current: dict[int, Totals]
    previous_at: datetime | None = None
    previous: dict[int, Totals] | None = None
    unavailable: str | None = None


@dataclass(frozen=True)
class SameHour:
    """The 1-minute rollups of previous days around now's time of day: per series and label,
    the values of each day with enough points, for the labels with enough such days."""

    days: dict[str, dict[str, list[list[float]]]]
    rollup_seconds: float = 60.0

    @classmethod
    def of(cls, points: dict[str, dict[str, list[Point]]], *, now: datetime, min_days: int,
           min_points_per_day: int, rollup_seconds: float = 60.0) -> "SameHour":
        """Grouped by day once per evaluation: several detectors read the same series."""
        days: dict[str, dict[str, list[list[float]]]] = {}
        for name, labels in points.items():
            for label, found in labels.items():
                by_day: dict[int, list[float]] = {}
                for point in found:
                    if point.samples:
                        by_day.setdefault(round((now - point.ts) / DAY), []).append(point.value)
                kept = [values for values in by_day.values()
                        if len(values) >= min_points_per_day]
                if len(kept) >= min_days:
                    days.setdefault(name, {})[label] = kept
        return cls(days=days, rollup_seconds=rollup_seconds)


@dataclass
class Signals:
    """Points oldest first, per series name and label, up to `now`; a window of 60 s holds the
    points after `now` - 60 s (six of 10 s)."""

    now: datetime
    step_seconds: float
    series: dict[str, dict[str, list[Point]]] = field(default_factory=dict)
    # Read only when a detector's inputs name them (statement_detectors).
    statements: StatementReadings | None = None
    activity: list[Backend] | None = None
    # Read only for the series of the detectors that learn a baseline (baseline.choose).
    same_hour: SameHour | None = None

    def points(self, name: str, label: str, *, within: timedelta | None = None) -> list[Point]:
        points = self.series.get(name, {}).get(label, [])
        if within is None:
            return points
        start = self.now - within
        return [point for point in points if point.ts > start]

    def seasonal(self, name: str, label: str) -> list[list[float]] | None:
        """The same hour's values of each previous day, when enough days have them."""
        if self.same_hour is None:
            return None
        return self.same_hour.days.get(name, {}).get(label)

    def labels(self, name: str) -> list[str]:
        return sorted(self.series.get(name, {}))
