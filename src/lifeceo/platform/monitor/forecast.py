"""When a trend reaches a limit: Holt's linear trend, with an interval, and how it turned out.

"RSS of worker 2 reaches the limit in ~12 min" is a forecast of the level crossing a limit; the
interval comes from the one-step errors of the fit, widening with the horizon as a random walk's
would. A prediction is judged later against what the series did: a hit if the limit was crossed
within the interval, a miss if it was crossed outside it or the interval passed without it."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Smoothing of the level and of the trend: the level follows a 10 s series within about a
# minute, the trend changes over several minutes (a leak, a backlog) not per sample.
ALPHA = 0.3
BETA = 0.05
# A central interval of about 90 % for normally distributed errors.
INTERVAL_Z = 1.645


@dataclass(frozen=True, slots=True)
class Trend:
    level: float
    slope: float
    # Standard deviation of the one-step-ahead errors of the fit.
    error: float
    step_seconds: float


@dataclass(frozen=True, slots=True)
class Crossing:
    """The limit is reached in about `seconds` (between `earliest` and `latest`)."""

    seconds: float
    earliest: float
    latest: float


def holt(values: Sequence[float], *, step_seconds: float, alpha: float = ALPHA,
         beta: float = BETA, min_samples: int = 6) -> Trend | None:
    data = np.asarray(values, dtype=float)
    if data.size < min_samples or not np.all(np.isfinite(data)):
        return None
    level, slope = data[0], (data[min_samples - 1] - data[0]) / (min_samples - 1)
    errors = []
    for value in data[1:]:
        predicted = level + slope
        errors.append(value - predicted)
        previous = level
        level = alpha * value + (1 - alpha) * predicted
        slope = beta * (level - previous) + (1 - beta) * slope
    return Trend(level=float(level), slope=float(slope), error=float(np.std(errors)),
                 step_seconds=step_seconds)


def crossing(trend: Trend, *, limit: float, horizon_seconds: float) -> Crossing | None:
    """When the trend reaches `limit` (rising: at or above it; falling: at or below it) within
    `horizon_seconds`, or None; the interval is where the band's edges reach it."""
    steps = int(horizon_seconds // trend.step_seconds)
    if steps < 1:
        return None
    h = np.arange(1, steps + 1, dtype=float)
    centre = trend.level + trend.slope * h
    spread = INTERVAL_Z * trend.error * np.sqrt(h)
    rising = limit >= trend.level
    sign = 1.0 if rising else -1.0

    def first(curve: np.ndarray) -> float | None:
        reached = np.nonzero(sign * (curve - limit) >= 0)[0]
        return float(h[reached[0]] * trend.step_seconds) if reached.size else None

    central = first(centre)
    if central is None:
        return None
    earliest = first(centre + sign * spread)
    latest = first(centre - sign * spread)
    return Crossing(seconds=central, earliest=earliest if earliest is not None else 0.0,
                    latest=latest if latest is not None else float(horizon_seconds))


def judge(crossing_: Crossing, *, made_at: float, limit: float, rising: bool,
          points: Sequence[tuple[float, float]], now: float) -> str:
    """"hit", "miss" or "pending": `points` are (unix time, value) seen since `made_at`."""
    for ts, value in points:
        if ts < made_at:
            continue
        if (value >= limit) if rising else (value <= limit):
            elapsed = ts - made_at
            return "hit" if crossing_.earliest <= elapsed <= crossing_.latest else "miss"
    return "miss" if now - made_at > crossing_.latest else "pending"
