"""What the detectors read: recent points of the metrics history, by series and label."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

# Not a series of the metrics history: errors per group (observability.error_groups) and per
# interval, counted from every process's shipped log records; value and samples are the count.
LOGGED_ERRORS = "logged_errors"


@dataclass(frozen=True, slots=True)
class Point:
    ts: datetime
    value: float
    # Observations behind the value (requests, cache lookups, process readings).
    samples: int


@dataclass
class Signals:
    """Points oldest first, per series name and label, up to `now`; a window of 60 s holds the
    points after `now` - 60 s (six of 10 s)."""

    now: datetime
    step_seconds: float
    series: dict[str, dict[str, list[Point]]] = field(default_factory=dict)

    def points(self, name: str, label: str, *, within: timedelta | None = None) -> list[Point]:
        points = self.series.get(name, {}).get(label, [])
        if within is None:
            return points
        start = self.now - within
        return [point for point in points if point.ts > start]

    def labels(self, name: str) -> list[str]:
        return sorted(self.series.get(name, {}))
