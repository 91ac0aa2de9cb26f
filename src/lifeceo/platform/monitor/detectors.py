"""Detectors over the metrics history: each reads measured series, needs a minimum of samples
before it says anything, and explains itself with the points it judged.

The original monitor compared literals and three of its five patterns could never fire
(REFERENCE.md, "Performance monitor"); every threshold here is a setting, and every verdict
comes with its evidence and a fingerprint, so that the same problem is one incident, not one
per evaluation."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from lifeceo.platform.monitor import baseline, forecast
from lifeceo.platform.monitor.signals import Point, Signals
from lifeceo.settings import Settings

ALL = "all"


@dataclass(frozen=True)
class Detection:
    detector: str
    label: str
    severity: str
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        return f"{self.detector}:{self.label}"


class Detector(Protocol):
    name: str
    inputs: tuple[str, ...]
    # How far back the detector looks, which the evaluation must fetch.
    window: timedelta

    def evaluate(self, signals: Signals) -> list[Detection]: ...


def weighted(points: Sequence[Point]) -> tuple[float, int]:
    """The sample-weighted mean of ratio points and the samples behind it."""
    samples = sum(point.samples for point in points)
    if not samples:
        return 0.0, 0
    return sum(point.value * point.samples for point in points) / samples, samples


def evidence(points: Sequence[Point]) -> list[list[Any]]:
    return [[point.ts.isoformat(), round(point.value, 6), point.samples] for point in points]


@dataclass
class SlowApiResponse:
    """The latency SLO's error budget burning fast, per route class (Google's SRE workbook,
    "multiwindow, multi-burn-rate alerts"): an interval whose p95 exceeds the objective is a bad
    one; the burn rate is the bad share over the budgeted share, and both a short and a long
    window must burn, so that one slow interval is not an incident and a recovered one stops
    being one quickly."""

    slo_seconds: float
    budget: float
    burn_rate: float
    short: timedelta
    long: timedelta
    min_requests: int
    name: str = "slow_api_response"
    inputs: tuple[str, ...] = ("http_latency_p95_seconds",)

    @property
    def window(self) -> timedelta:
        return self.long

    def evaluate(self, signals: Signals) -> list[Detection]:
        found = []
        for label in signals.labels("http_latency_p95_seconds"):
            long = [point for point in signals.points("http_latency_p95_seconds", label,
                                                      within=self.long)
                    if point.samples >= self.min_requests]
            short = [point for point in long if point.ts > signals.now - self.short]
            if len(long) * signals.step_seconds < self.long.total_seconds() / 2 or not short:
                continue  # too little traffic in the window to say anything
            burns = [self._burn(points) for points in (short, long)]
            if min(burns) >= self.burn_rate:
                worst = max(point.value for point in short)
                found.append(Detection(
                    self.name, label, "critical" if label == ALL else "warning",
                    f"p95 of {label} above {self.slo_seconds * 1000:.0f} ms in "
                    f"{burns[0] * self.budget:.0%} of the last {self.short.seconds // 60} min "
                    f"(worst {worst * 1000:.0f} ms); burn rate {burns[0]:.1f} short, "
                    f"{burns[1]:.1f} long",
                    {"series": "http_latency_p95_seconds", "points": evidence(long),
                     "burn_rates": burns}))
        return found

    def _burn(self, points: Sequence[Point]) -> float:
        bad = sum(1 for point in points if point.value > self.slo_seconds)
        return bad / len(points) / self.budget


@dataclass
class ErrorBurst:
    """5xx responses burning the error budget (the seed's "error rate < 0.1 %"), over a short and
    a long window, weighted by the requests behind each point."""

    budget: float
    burn_rate: float
    short: timedelta
    long: timedelta
    min_requests: int
    name: str = "error_burst"
    inputs: tuple[str, ...] = ("http_error_ratio",)

    @property
    def window(self) -> timedelta:
        return self.long

    def evaluate(self, signals: Signals) -> list[Detection]:
        found = []
        for label in signals.labels("http_error_ratio"):
            long = signals.points("http_error_ratio", label, within=self.long)
            short = [point for point in long if point.ts > signals.now - self.short]
            (short_ratio, short_requests), (long_ratio, long_requests) = (
                weighted(short), weighted(long))
            if long_requests < self.min_requests or not short_requests:
                continue
            burns = [short_ratio / self.budget, long_ratio / self.budget]
            if min(burns) >= self.burn_rate:
                found.append(Detection(
                    self.name, label, "critical",
                    f"{short_ratio:.1%} of {label} requests failed with a 5xx in the last "
                    f"{self.short.seconds // 60} min ({short_requests} requests); burn rate "
                    f"{burns[0]:.0f}", {"series": "http_error_ratio", "points": evidence(long),
                                        "burn_rates": burns}))
        return found


@dataclass
class LowCacheHitRate:
    """A namespace's hit ratio well below its own normal: relative to a baseline learned from
    the points before the window (an incident already under way stays out of it), and only with
    enough lookups in the window that a ratio means something."""

    window_length: timedelta
    history: timedelta
    min_lookups: int
    min_drop: float
    min_baseline_points: int
    name: str = "low_cache_hit_rate"
    inputs: tuple[str, ...] = ("cache_hit_ratio",)

    @property
    def window(self) -> timedelta:
        return self.history + self.window_length

    def evaluate(self, signals: Signals) -> list[Detection]:
        found = []
        start = signals.now - self.window_length
        for label in signals.labels("cache_hit_ratio"):
            points = signals.points("cache_hit_ratio", label, within=self.window)
            recent = [point for point in points if point.ts > start]
            earlier = [point.value for point in points if point.ts <= start and point.samples]
            ratio, lookups = weighted(recent)
            normal = baseline.robust(earlier, min_samples=self.min_baseline_points)
            if lookups < self.min_lookups or normal is None:
                continue
            floor = min(normal.band()[0], normal.median - self.min_drop)
            if ratio < floor:
                found.append(Detection(
                    self.name, label, "warning",
                    f"cache hit ratio of {label} at {ratio:.0%} over "
                    f"{self.window_length.seconds // 60} min ({lookups} lookups), normally "
                    f"{normal.median:.0%}",
                    {"series": "cache_hit_ratio", "points": evidence(points),
                     "baseline": {"median": normal.median, "scale": normal.scale,
                                  "samples": normal.samples}}))
        return found


@dataclass
class QueueBacklog:
    """A queue whose oldest due job has waited too long and that is not draining fast enough:
    Holt's trend of its depth forecasts when it is empty."""

    max_age_seconds: float
    max_drain_seconds: float
    window: timedelta
    min_points: int
    name: str = "queue_backlog"
    inputs: tuple[str, ...] = ("queue_oldest_age_seconds", "queue_depth")

    def evaluate(self, signals: Signals) -> list[Detection]:
        found = []
        for label in signals.labels("queue_oldest_age_seconds"):
            ages = signals.points("queue_oldest_age_seconds", label, within=self.window)
            depths = signals.points("queue_depth", label, within=self.window)
            if len(depths) < self.min_points or not ages or ages[-1].value < self.max_age_seconds:
                continue
            trend = forecast.holt([point.value for point in depths],
                                  step_seconds=signals.step_seconds, min_samples=self.min_points)
            drain = trend and forecast.crossing(trend, limit=0,
                                                horizon_seconds=self.max_drain_seconds)
            if drain is not None:
                continue  # late, but empty within the time allowed
            found.append(Detection(
                self.name, label, "warning",
                f"queue {label}: oldest due job waiting {ages[-1].value:.0f} s, "
                f"{depths[-1].value:.0f} due, not empty within "
                f"{self.max_drain_seconds / 60:.0f} min at its present rate",
                {"series": "queue_depth", "points": evidence(depths),
                 "slope_per_second": trend.slope / signals.step_seconds if trend else None}))
        return found


@dataclass
class MemoryUsageHigh:
    """The largest web process's RSS heading for its limit: a forecast of when it gets there,
    not a heap ratio; steady memory, however high, is not a leak."""

    limit_bytes: float
    horizon_seconds: float
    window: timedelta
    min_points: int
    name: str = "memory_usage_high"
    inputs: tuple[str, ...] = ("process_rss_bytes",)

    def evaluate(self, signals: Signals) -> list[Detection]:
        points = signals.points("process_rss_bytes", "max", within=self.window)
        trend = forecast.holt([point.value for point in points],
                              step_seconds=signals.step_seconds, min_samples=self.min_points)
        if trend is None:
            return []
        reach = forecast.crossing(trend, limit=self.limit_bytes,
                                  horizon_seconds=self.horizon_seconds)
        if reach is None:
            return []
        mib = 1024 * 1024
        return [Detection(
            self.name, "max", "critical" if reach.seconds <= 300 else "warning",
            f"a web process's RSS ({points[-1].value / mib:.0f} MiB, +"
            f"{trend.slope / signals.step_seconds * 60 / mib:.1f} MiB/min) reaches "
            f"{self.limit_bytes / mib:.0f} MiB in ~{reach.seconds / 60:.0f} min",
            {"series": "process_rss_bytes", "points": evidence(points),
             "forecast": {"seconds": reach.seconds, "earliest": reach.earliest,
                          "latest": reach.latest, "limit": self.limit_bytes}})]


@dataclass
class EventLoopBlocked:
    """The worst event-loop delay of any process above a bound in several recent intervals:
    one long garbage collection is not a blocked loop."""

    max_lag_seconds: float
    min_intervals: int
    window: timedelta
    name: str = "event_loop_blocked"
    inputs: tuple[str, ...] = ("event_loop_lag_seconds",)

    def evaluate(self, signals: Signals) -> list[Detection]:
        points = signals.points("event_loop_lag_seconds", "max", within=self.window)
        blocked = [point for point in points if point.value > self.max_lag_seconds]
        if len(blocked) < self.min_intervals:
            return []
        return [Detection(
            self.name, "max", "critical",
            f"an event loop was blocked for up to {max(p.value for p in blocked):.2f} s in "
            f"{len(blocked)} of the last {len(points)} intervals",
            {"series": "event_loop_lag_seconds", "points": evidence(points)})]


def from_settings(settings: Settings) -> list[Detector]:
    """The detectors over the metrics history, with the thresholds of `settings`."""
    step = settings.metrics_history_interval_seconds
    return [
        SlowApiResponse(slo_seconds=settings.monitor_latency_slo_ms / 1000,
                        budget=settings.monitor_latency_slo_budget,
                        burn_rate=settings.monitor_burn_rate,
                        short=timedelta(seconds=settings.monitor_short_window_seconds),
                        long=timedelta(seconds=settings.monitor_long_window_seconds),
                        min_requests=settings.monitor_min_requests_per_interval),
        ErrorBurst(budget=settings.monitor_error_budget, burn_rate=settings.monitor_burn_rate,
                   short=timedelta(seconds=settings.monitor_short_window_seconds),
                   long=timedelta(seconds=settings.monitor_long_window_seconds),
                   min_requests=settings.monitor_min_requests_per_window),
        LowCacheHitRate(window_length=timedelta(seconds=settings.monitor_short_window_seconds),
                        history=timedelta(seconds=settings.monitor_baseline_seconds),
                        min_lookups=settings.monitor_min_cache_lookups,
                        min_drop=settings.monitor_cache_hit_min_drop,
                        min_baseline_points=settings.monitor_min_baseline_points),
        QueueBacklog(max_age_seconds=settings.monitor_queue_max_age_seconds,
                     max_drain_seconds=settings.monitor_queue_max_drain_seconds,
                     window=timedelta(seconds=settings.monitor_long_window_seconds),
                     min_points=settings.monitor_min_trend_points),
        MemoryUsageHigh(limit_bytes=settings.monitor_worker_rss_limit_bytes,
                        horizon_seconds=settings.monitor_forecast_horizon_seconds,
                        window=timedelta(seconds=settings.monitor_long_window_seconds),
                        min_points=max(settings.monitor_min_trend_points,
                                       int(settings.monitor_short_window_seconds // step))),
        EventLoopBlocked(max_lag_seconds=settings.monitor_max_loop_lag_ms / 1000,
                         min_intervals=settings.monitor_min_blocked_intervals,
                         window=timedelta(seconds=settings.monitor_short_window_seconds)),
    ]
