"""What normal looks like for one series: robust statistics that an incident cannot move.

A mean and a standard deviation follow the outliers they should flag; the median and the median
absolute deviation (MAD) ignore up to half of the points. Points already judged anomalous stay
out, so that an incident never becomes the new normal; where several days of history exist, the
same hour of day is the reference (the traffic of 03:00 is not that of 20:00)."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

# MAD × 1.4826 estimates the standard deviation of normally distributed data.
MAD_TO_SIGMA = 1.4826
# A series that never moves has a MAD of 0, and any change would score infinitely: the scale is
# at least this share of the median (a 1 % wobble is not an anomaly) ...
RELATIVE_SCALE_FLOOR = 0.01
# ... and at least this much in absolute terms, for series that sit at 0 (errors per second).
ABSOLUTE_SCALE_FLOOR = 1e-9
# Points this many robust deviations away are anomalous and left out of the baseline.
OUTLIER_SCORE = 3.5
# Hour-of-day baselines need this many days of history, each contributing points.
SAME_HOUR_MIN_DAYS = 3


@dataclass(frozen=True, slots=True)
class Baseline:
    median: float
    scale: float
    samples: int
    # "same_hour" or "rolling": what the reference points were.
    kind: str

    def score(self, value: float) -> float:
        """Robust deviations from normal: about a z-score on well-behaved data."""
        return (value - self.median) / self.scale

    def band(self, width: float = OUTLIER_SCORE) -> tuple[float, float]:
        return self.median - width * self.scale, self.median + width * self.scale


def robust(values: Sequence[float], *, min_samples: int, kind: str = "rolling",
           outlier_score: float = OUTLIER_SCORE) -> Baseline | None:
    """The median and scale of `values` with their outliers left out; None below `min_samples`."""
    data = np.asarray(values, dtype=float)
    data = data[np.isfinite(data)]
    if data.size < min_samples:
        return None
    median, scale = _median_scale(data)
    kept = data[np.abs(data - median) <= outlier_score * scale]
    if kept.size >= min_samples and kept.size < data.size:
        median, scale = _median_scale(kept)
    return Baseline(median=median, scale=scale, samples=int(kept.size), kind=kind)


def learn(points: Sequence[tuple[datetime, float]], *, at: datetime, window: timedelta,
          min_samples: int, anomalous: Collection[datetime] = ()) -> Baseline | None:
    """The baseline for a value seen at `at`: the same hour of day on earlier days where at least
    SAME_HOUR_MIN_DAYS of them have `min_samples` points together, else the `window` before `at`.
    Points in `anomalous` (flagged before) are never part of it."""
    excluded = set(anomalous)
    history = [(ts, value) for ts, value in points if ts < at and ts not in excluded]
    same_hour = [(ts, value) for ts, value in history
                 if ts.hour == at.hour and ts.date() != at.date()]
    if len({ts.date() for ts, _ in same_hour}) >= SAME_HOUR_MIN_DAYS:
        baseline = robust([value for _, value in same_hour], min_samples=min_samples,
                          kind="same_hour")
        if baseline is not None:
            return baseline
    recent = [value for ts, value in history if ts >= at - window]
    return robust(recent, min_samples=min_samples, kind="rolling")


def _median_scale(data: np.ndarray) -> tuple[float, float]:
    median = float(np.median(data))
    mad = float(np.median(np.abs(data - median)))
    scale = max(MAD_TO_SIGMA * mad, RELATIVE_SCALE_FLOOR * abs(median), ABSOLUTE_SCALE_FLOOR)
    return median, scale
