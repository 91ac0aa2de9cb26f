"""Steps in a series ("p95 doubled after 14:02"): the Page-Hinkley test, both ways.

It sums how far each point lies above (or below) the running mean of the points before it; after a
step up the sum climbs steadily, and once it has climbed `threshold` above its lowest value the
step is declared, its onset being where that lowest value was. Both the allowed drift (`delta`)
and the `threshold` are in units of the series' own robust scale, measured on the points before
the test starts, so one setting fits latencies in seconds and rates in thousands."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lifeceo.platform.monitor.baseline import robust

# Drift tolerated per point, in robust deviations: noise of that size never adds up.
DELTA = 0.5
# Accumulated deviation that declares a step: about 8 points at 1.5 deviations beyond the drift.
THRESHOLD = 8.0


@dataclass(frozen=True, slots=True)
class ChangePoint:
    onset: int
    detected: int
    direction: str
    before: float
    after: float

    @property
    def ratio(self) -> float | None:
        return self.after / self.before if self.before else None


def page_hinkley(values: Sequence[float], *, reference: int, delta: float = DELTA,
                 threshold: float = THRESHOLD) -> ChangePoint | None:
    """The first step in `values` after its first `reference` points (which set the scale), or
    None. `before` and `after` are medians of the points either side of the onset."""
    data = np.asarray(values, dtype=float)
    baseline = robust(data[:reference], min_samples=reference)
    if baseline is None or data.size <= reference:
        return None
    scale = baseline.scale
    mean, count = baseline.median, 1
    up = down = 0.0
    up_low = down_high = 0.0
    up_onset = down_onset = reference
    for index in range(reference, data.size):
        value = data[index]
        up += (value - mean) / scale - delta
        down += (value - mean) / scale + delta
        if up < up_low:
            up_low, up_onset = up, index + 1
        if down > down_high:
            down_high, down_onset = down, index + 1
        if up - up_low > threshold:
            return _change(data, up_onset, index, "up")
        if down_high - down > threshold:
            return _change(data, down_onset, index, "down")
        # The reference mean moves with the data, slowly, as in the original test.
        count += 1
        mean += (value - mean) / count
    return None


def _change(data: np.ndarray, onset: int, detected: int, direction: str) -> ChangePoint:
    onset = min(onset, detected)
    return ChangePoint(onset=onset, detected=detected, direction=direction,
                       before=float(np.median(data[:onset])),
                       after=float(np.median(data[onset:detected + 1])))
