"""What normal looks like for one series: robust statistics that an incident cannot move.

A mean and a standard deviation follow the outliers they should flag; the median and the median
absolute deviation (MAD) ignore up to half of the points. Outliers stay out, and a detector
learns from the points before the window it judges, so that an incident never becomes the new
normal."""

from collections.abc import Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class Baseline:
    median: float
    scale: float
    samples: int

    def score(self, value: float) -> float:
        """Robust deviations from normal: about a z-score on well-behaved data."""
        return (value - self.median) / self.scale

    def band(self, width: float = OUTLIER_SCORE) -> tuple[float, float]:
        return self.median - width * self.scale, self.median + width * self.scale


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


def _median_scale(data: np.ndarray) -> tuple[float, float]:
    median = float(np.median(data))
    mad = float(np.median(np.abs(data - median)))
    scale = max(MAD_TO_SIGMA * mad, RELATIVE_SCALE_FLOOR * abs(median), ABSOLUTE_SCALE_FLOOR)
    return median, scale
