"""What normal looks like for one series: robust statistics that an incident cannot move.

A mean and a standard deviation follow the outliers they should flag; the median and the median
absolute deviation (MAD) ignore up to half of the points. Outliers stay out, and a detector
learns from the points before the window it judges, so that an incident never becomes the new
normal.

Normal is the same hour of day on the previous days when enough days have points there (a
peak every morning is that hour's normal, not an anomaly), else the rolling window before the
detector's: `choose` is that one rule, for every detector that learns a baseline."""

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

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


SAME_HOUR, ROLLING = "same_hour", "rolling"


@dataclass(frozen=True, slots=True)
class Baseline:
    median: float
    scale: float
    samples: int
    kind: str = ROLLING
    # Previous days whose same hour it learned from (same_hour only).
    days: int = 0

    def score(self, value: float) -> float:
        """Robust deviations from normal: about a z-score on well-behaved data."""
        return (value - self.median) / self.scale

    def band(self, width: float = OUTLIER_SCORE) -> tuple[float, float]:
        return self.median - width * self.scale, self.median + width * self.scale

    def described(self) -> dict[str, Any]:
        found = {"kind": self.kind, "median": self.median, "scale": self.scale,
                 "samples": self.samples}
        return {**found, "days": self.days} if self.kind == SAME_HOUR else found


def robust(values: Sequence[float], *, min_samples: int,
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
    return Baseline(median=median, scale=scale, samples=int(kept.size))


def choose(*, same_hour: Sequence[Sequence[float]] | None, rolling: Sequence[float],
           min_samples: int, widen: float = 1.0) -> Baseline | None:
    """The same-hour baseline from its days' values when there are some (the caller passes None
    below its minimum of days), else the rolling one. `widen` scales the same-hour spread to the
    points it judges: 1-minute rollups of 10 s points spread about sqrt(6) times less."""
    if same_hour:
        normal = robust([value for day in same_hour for value in day], min_samples=min_samples)
        if normal is not None:
            return replace(normal, scale=normal.scale * widen, kind=SAME_HOUR,
                           days=len(same_hour))
    return robust(rolling, min_samples=min_samples)


def widening(*, rollup_seconds: float, step_seconds: float) -> float:
    """The ratio of a point's spread to a rollup's of `rollup_seconds / step_seconds` points, as
    if they were independent: an overestimate when days differ, which errs towards quiet."""
    return math.sqrt(max(rollup_seconds / step_seconds, 1.0))


def _median_scale(data: np.ndarray) -> tuple[float, float]:
    median = float(np.median(data))
    mad = float(np.median(np.abs(data - median)))
    scale = max(MAD_TO_SIGMA * mad, RELATIVE_SCALE_FLOOR * abs(median), ABSOLUTE_SCALE_FLOOR)
    return median, scale
