"""Netflix concurrency-limits' Gradient2, written from its description: the limit follows the
ratio of the long-term to the short-term request latency, and a queue allowance lets it probe
upwards while latency holds steady."""

import math
from dataclasses import dataclass

# Netflix's defaults: latency may rise by half before the limit shrinks, and the limit moves a
# fifth of the way to each new estimate, so one slow request does not halve it.
TOLERANCE = 1.5
SMOOTHING = 0.2
# A gradient never cuts the limit by more than half in one step.
MIN_GRADIENT = 0.5
# Past this ratio of long- to short-term latency the long-term average is taken to be stuck on
# an old spike and decays towards the present.
DRIFT_RATIO = 2.0
DRIFT_DECAY = 0.95


class ExponentialAverage:
    """Mean of the first `window` samples, then an exponential average over about `window`."""

    def __init__(self, window: int) -> None:
        self.window = window
        self.count = 0
        self.value = 0.0

    def add(self, sample: float) -> float:
        if self.count < self.window:
            self.count += 1
            self.value += (sample - self.value) / self.count
        else:
            self.value += (sample - self.value) * 2 / (self.window + 1)
        return self.value


@dataclass
class Gradient2:
    """`sample(latency, inflight)` after each request; `limit` is the current estimate."""

    initial_limit: int = 20
    min_limit: int = 4
    max_limit: int = 200
    # Netflix's defaults: 10 samples for the present, 600 for the baseline.
    short_window: int = 10
    long_window: int = 600

    def __post_init__(self) -> None:
        self.estimate = float(self.initial_limit)
        self._short = ExponentialAverage(self.short_window)
        self._long = ExponentialAverage(self.long_window)

    @property
    def limit(self) -> int:
        return int(self.estimate)

    @property
    def short_rtt(self) -> float:
        return self._short.value

    @property
    def long_rtt(self) -> float:
        return self._long.value

    def sample(self, latency_seconds: float, inflight: int) -> int:
        short = self._short.add(latency_seconds)
        long = self._long.add(latency_seconds)
        if short <= 0:
            return self.limit
        if long / short > DRIFT_RATIO:
            self._long.value = long = long * DRIFT_DECAY
        # Too few requests to tell whether more would queue: the estimate stays.
        if inflight < self.estimate / 2:
            return self.limit
        gradient = max(MIN_GRADIENT, min(1.0, TOLERANCE * long / short))
        # The allowance that lets a steady latency grow the limit.
        queue = math.sqrt(self.estimate)
        target = self.estimate * gradient + queue
        target = self.estimate * (1 - SMOOTHING) + target * SMOOTHING
        self.estimate = max(float(self.min_limit), min(float(self.max_limit), target))
        return self.limit
