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

import numpy as np

from lifeceo.platform.monitor import baseline, changepoint, forecast
from lifeceo.platform.monitor.signals import LOGGED_ERRORS, Point, Signals
from lifeceo.platform.observability.history_series import RUM_SERIES
from lifeceo.settings import Settings

ALL = "all"
# Points that set the scale of a step search: fewer make any wobble a step.
MIN_STEP_REFERENCE = 5
# The cache's Redis is slower than the database it spares at twice its round trip: below that,
# the two are within each other's noise on a loaded machine.
CACHE_SLOWER_FACTOR = 2.0


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


def span(window: timedelta) -> str:
    seconds = window.total_seconds()
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def evidence(points: Sequence[Point]) -> list[list[Any]]:
    return [[point.ts.isoformat(), round(point.value, 6), point.samples] for point in points]


@dataclass(kw_only=True)
class AgainstHistory:
    """A detector that judges its last `window_length` against the `history` before it."""

    window_length: timedelta
    history: timedelta

    @property
    def window(self) -> timedelta:
        return self.history + self.window_length

    def split(self, signals: Signals, points: Sequence[Point]) -> tuple[list[Point], list[Point]]:
        """The points in the judged window, and those before it."""
        start = signals.now - self.window_length
        return ([point for point in points if point.ts > start],
                [point for point in points if point.ts <= start])


@dataclass(kw_only=True)
class LearnsNormal(AgainstHistory):
    """One that learns a series' normal from that history, or its same hour (learn)."""

    min_baseline_points: int

    def normal(self, signals: Signals, series: str, label: str,
               earlier: Sequence[Point]) -> baseline.Baseline | None:
        return learn(signals, series, label, earlier, min_samples=self.min_baseline_points)


@dataclass(kw_only=True)
class BurnRate:
    """An error budget burning fast, per route class (Google's SRE workbook, "multiwindow,
    multi-burn-rate alerts"): the burn rate is the bad share over the budgeted share, and both a
    short and a long window must burn, so that one bad interval is not an incident and a
    recovered service stops being one within the short window."""

    budget: float
    burn_rate: float
    short: timedelta
    long: timedelta
    min_requests: int

    @property
    def window(self) -> timedelta:
        return self.long

    def evaluate(self, signals: Signals) -> list[Detection]:
        [series] = self.inputs
        found = [self.burning(signals, series, label) or self.anomalous(signals, series, label)
                 for label in signals.labels(series)]
        return [detection for detection in found if detection is not None]

    def burning(self, signals: Signals, series: str, label: str) -> Detection | None:
        long = signals.points(series, label, within=self.long)
        short = [point for point in long if point.ts > signals.now - self.short]
        burns = self.burns(short, long, step_seconds=signals.step_seconds)
        if burns is None or min(burns) < self.burn_rate:
            return None
        return Detection(self.name, label, self.severity(label),
                         self.summary(label, short, burns),
                         {"series": series, "points": evidence(long), "burn_rates": burns,
                          **self.explained(long)})

    def anomalous(self, signals: Signals, series: str, label: str) -> Detection | None:
        """A finding besides the burn rate, under the same fingerprint; none by default."""
        return None

    def explained(self, long: list[Point]) -> dict[str, Any]:
        """Figures beside the burn rates that tell the reader what happened."""
        return {}


@dataclass(kw_only=True)
class SlowApiResponse(BurnRate):
    """The latency SLO: an interval whose p95 exceeds the objective is a bad one; intervals with
    too few requests to have a p95 are neither."""

    slo_seconds: float
    # The anomaly band: a p95 past its own normal (learn) by `band_factor` and past
    # `band_floor_seconds`, in each of the last `band_intervals` intervals with enough requests.
    history: timedelta
    band_factor: float
    band_floor_seconds: float
    band_intervals: int
    min_baseline_points: int
    name: str = "slow_api_response"
    inputs: tuple[str, ...] = ("http_latency_p95_seconds",)
    learns: tuple[str, ...] = ("http_latency_p95_seconds",)

    @property
    def window(self) -> timedelta:
        return max(self.long, self.history + self.short)

    def anomalous(self, signals: Signals, series: str, label: str) -> Detection | None:
        """A route class slower than its own normal while still under the SLO: a warning, so
        that a step from 20 ms to 150 ms is seen before the budget burns."""
        start = signals.now - self.short
        points = [point for point in signals.points(series, label, within=self.window)
                  if point.samples >= self.min_requests]
        recent = [point for point in points if point.ts > start][-self.band_intervals:]
        normal = learn(signals, series, label, [point for point in points if point.ts <= start],
                       min_samples=self.min_baseline_points)
        if normal is None or len(recent) < self.band_intervals:
            return None
        bound = normal_bound(normal, floor=self.band_floor_seconds, factor=self.band_factor)
        if not all(point.value > bound for point in recent):
            return None
        long = signals.points(series, label, within=self.long)
        return Detection(
            self.name, label, "warning",
            f"p95 of {label} anomalous: {ms(min(p.value for p in recent))}–"
            f"{ms(max(p.value for p in recent))} in the last {len(recent)} intervals, normally "
            f"{ms(normal.median)} ({normal.kind.replace('_', ' ')}; bound {ms(bound)}, "
            f"SLO {ms(self.slo_seconds)})",
            {"series": series, "points": evidence(long), "anomaly": True, "bound": bound,
             "baseline": normal.described(), **self.explained(long)})

    def burns(self, short: list[Point], long: list[Point], *,
              step_seconds: float) -> list[float] | None:
        short, long = ([point for point in points if point.samples >= self.min_requests]
                       for points in (short, long))
        if len(long) * step_seconds < self.long.total_seconds() / 2 or not short:
            return None  # too little traffic in the window to say anything
        return [sum(point.value > self.slo_seconds for point in points) / len(points)
                / self.budget for points in (short, long)]

    def severity(self, label: str) -> str:
        return "critical" if label == ALL else "warning"

    def explained(self, long: list[Point]) -> dict[str, Any]:
        """The step in the p95 series, if there is one ("p95 doubled after 14:02"): its first
        point, and the medians before it and from it to now. The window's first half sets the
        scale."""
        points = [point for point in long if point.samples >= self.min_requests]
        values = [point.value for point in points]
        reference = len(points) // 2
        found = reference >= MIN_STEP_REFERENCE and changepoint.page_hinkley(
            values, reference=reference)
        if not found:
            return {}
        after = float(np.median(values[found.onset:]))
        return {"step": {"onset": points[found.onset].ts.isoformat(),
                         "direction": found.direction, "before": found.before, "after": after,
                         "ratio": after / found.before if found.before else None}}

    def summary(self, label: str, short: list[Point], burns: list[float]) -> str:
        worst = max(point.value for point in short)
        return (f"p95 of {label} above {self.slo_seconds * 1000:.0f} ms in "
                f"{burns[0] * self.budget:.0%} of the last {span(self.short)} "
                f"(worst {worst * 1000:.0f} ms); burn rate {burns[0]:.1f} short, "
                f"{burns[1]:.1f} long")


@dataclass(kw_only=True)
class ErrorBurst(BurnRate):
    """5xx responses (the seed's "error rate < 0.1 %"), weighted by the requests behind each
    point."""

    name: str = "error_burst"
    inputs: tuple[str, ...] = ("http_error_ratio",)

    def burns(self, short: list[Point], long: list[Point], *,
              step_seconds: float) -> list[float] | None:
        (short_ratio, short_requests), (long_ratio, long_requests) = (
            weighted(short), weighted(long))
        if long_requests < self.min_requests or not short_requests:
            return None
        return [short_ratio / self.budget, long_ratio / self.budget]

    def severity(self, label: str) -> str:
        return "critical"

    def summary(self, label: str, short: list[Point], burns: list[float]) -> str:
        ratio, requests = weighted(short)
        return (f"{ratio:.1%} of {label} requests failed with a 5xx in the last "
                f"{span(self.short)} ({requests} requests); burn rate "
                f"{burns[0]:.0f}")


@dataclass(kw_only=True)
class LowCacheHitRate(LearnsNormal):
    """A namespace's hit ratio well below its own normal: relative to a baseline learned from
    the points before the window (an incident already under way stays out of it), and only with
    enough lookups in the window that a ratio means something."""

    min_lookups: int
    min_drop: float
    name: str = "low_cache_hit_rate"
    inputs: tuple[str, ...] = ("cache_hit_ratio",)
    # The series whose baseline it learns: the evaluation reads their same hour (learn).
    learns: tuple[str, ...] = ("cache_hit_ratio",)

    def evaluate(self, signals: Signals) -> list[Detection]:
        found = []
        for label in signals.labels("cache_hit_ratio"):
            points = signals.points("cache_hit_ratio", label, within=self.window)
            recent, earlier = self.split(signals, points)
            ratio, lookups = weighted(recent)
            normal = self.normal(signals, "cache_hit_ratio", label, earlier)
            if lookups < self.min_lookups or normal is None:
                continue
            floor = min(normal.band()[0], normal.median - self.min_drop)
            if ratio < floor:
                found.append(Detection(
                    self.name, label, "warning",
                    f"cache hit ratio of {label} at {ratio:.0%} over "
                    f"{span(self.window_length)} ({lookups} lookups), normally "
                    f"{normal.median:.0%}",
                    {"series": "cache_hit_ratio", "points": evidence(points),
                     "baseline": normal.described(),
                     # Robust deviations of the window's ratio from normal.
                     "score": normal.score(ratio)}))
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


@dataclass(kw_only=True)
class NPlusOne:
    """Requests of a route class that break Sentry's N+1 rule (one statement fingerprint run at
    least 5 times for at least 50 ms), counted by the request profiles of every process: enough
    of them in the window, and a share of the class's requests that is not one odd request."""

    window: timedelta
    min_requests: int
    min_ratio: float
    name: str = "n_plus_one"
    inputs: tuple[str, ...] = ("n_plus_one_ratio", "sql_statements_per_request")

    def evaluate(self, signals: Signals) -> list[Detection]:
        found = []
        for label in signals.labels("n_plus_one_ratio"):
            points = signals.points("n_plus_one_ratio", label, within=self.window)
            ratio, requests = weighted(points)
            repeated = round(ratio * requests)
            if repeated < self.min_requests or ratio < self.min_ratio:
                continue
            statements, _ = weighted(signals.points("sql_statements_per_request", label,
                                                    within=self.window))
            found.append(Detection(
                self.name, label, "warning",
                f"{repeated} of {requests} {label} requests in {span(self.window)} ran one "
                f"statement again and again ({statements:.1f} statements per request)",
                {"series": "n_plus_one_ratio", "points": evidence(points),
                 "statements_per_request": statements}))
        return found


def learn(signals: Signals, series: str, label: str, earlier: Sequence[Point], *,
          min_samples: int) -> baseline.Baseline | None:
    """Normal for one series and label: its same hour on the previous days when enough days
    have it, else the `earlier` points, those before the judged window (baseline.choose)."""
    same_hour = signals.seasonal(series, label)
    widen = 1.0 if signals.same_hour is None else baseline.widening(
        rollup_seconds=signals.same_hour.rollup_seconds, step_seconds=signals.step_seconds)
    return baseline.choose(same_hour=same_hour,
                           rolling=[point.value for point in earlier if point.samples],
                           min_samples=min_samples, widen=widen)


def normal_bound(normal: baseline.Baseline | None, *, floor: float, factor: float) -> float:
    """The bound a reading must pass to be slow: the floor, or well above its own normal (a
    factor of its median and past its band) once there is one."""
    if normal is None:
        return floor
    return max(floor, factor * normal.median, normal.band()[1])


def loop_lags(signals: Signals, *, within: timedelta) -> dict[Any, float]:
    """The worst event-loop lag of any process, by interval."""
    return {point.ts: point.value for point in signals.points(
        "event_loop_lag_seconds", "max", within=within)}


def described(normal: baseline.Baseline | None) -> dict[str, Any] | None:
    return None if normal is None else normal.described()


@dataclass(kw_only=True)
class DatabaseSlow(LearnsNormal):
    """The database answering slowly: the mean time of every process's statements, or a
    measured round trip (a pooled connection's checkout and a SELECT 1), above its own normal
    in each of the last intervals. The normal is learned from the points before the window; a
    server without enough history yet is judged against the floor alone. A busy event loop is
    not a slow database: statements are timed on the loop, so an interval whose worst loop lag
    is as long as its reading does not count (the round trip is measured net of the lag)."""

    floor_seconds: float
    factor: float
    min_intervals: int
    name: str = "database_connection_slow"
    inputs: tuple[str, ...] = ("db_statement_seconds", "db_round_trip_seconds",
                               "event_loop_lag_seconds")
    learns: tuple[str, ...] = ("db_statement_seconds", "db_round_trip_seconds")
    # The label of each reading: which of them is slow.
    READINGS = (("db_statement_seconds", "avg", "statements"),
                ("db_round_trip_seconds", "max", "round_trip"))

    def evaluate(self, signals: Signals) -> list[Detection]:
        found = []
        lags = loop_lags(signals, within=self.window_length)
        for series, stat, label in self.READINGS:
            points = signals.points(series, stat, within=self.window)
            recent, earlier = self.split(signals, points)
            recent = recent[-self.min_intervals:]
            normal = self.normal(signals, series, stat, earlier)
            bound = normal_bound(normal, floor=self.floor_seconds, factor=self.factor)
            if len(recent) < self.min_intervals or not all(
                    p.value > max(bound, lags.get(p.ts, 0.0)) for p in recent):
                continue
            what = "statements take" if label == "statements" else "a round trip takes"
            usual = "" if normal is None else f", normally {normal.median * 1000:.1f} ms"
            found.append(Detection(
                self.name, label, "critical" if recent[-1].value > 10 * bound else "warning",
                f"the database is slow: {what} {recent[-1].value * 1000:.0f} ms"
                f"{usual} (bound {bound * 1000:.0f} ms)",
                {"series": series, "points": evidence(points), "bound": bound,
                 "baseline": described(normal)}))
        return found


@dataclass(kw_only=True)
class SlowDependency(LearnsNormal):
    """A network dependency (Varnish, an SMTP relay, a webhook receiver) answering slowly or not
    at all: the mean time of the web processes' calls to it above its own normal (or the
    floor), or too many of them failing, in each of the last intervals that had calls. Callers
    bound their calls with timeouts, so a dependency that hangs shows as failures at the
    timeout. An interval whose worst event-loop lag reached the floor is not judged: the loop,
    not the dependency, made those calls late.

    The cache's Redis is slow when the median of its round trips over the window (a PING each
    interval, net of the loop's lag, as the database's SELECT 1 is) is twice the database's and
    above the cache floor: a cache slower than what it spares costs more than it saves, whatever
    its own normal. Requests' own Redis reads are not compared: timed on a busy loop they
    include several waits for it (measured: 16 ms reads beside 6 ms statements on a loaded
    machine whose Redis answered a PING in well under a millisecond)."""

    floor_seconds: float
    factor: float
    min_intervals: int
    max_failure_ratio: float
    cache_floor_seconds: float
    name: str = "slow_dependency"
    inputs: tuple[str, ...] = ("outgoing_call_seconds", "outgoing_failure_ratio",
                               "cache_round_trip_seconds", "db_round_trip_seconds",
                               "event_loop_lag_seconds")
    learns: tuple[str, ...] = ("outgoing_call_seconds",)
    CACHE = "cache-redis"

    def evaluate(self, signals: Signals) -> list[Detection]:
        return [*self._calls(signals), *self._cache(signals)]

    def _calls(self, signals: Signals) -> list[Detection]:
        found = []
        lags = loop_lags(signals, within=self.window_length)
        for label in signals.labels("outgoing_call_seconds"):
            points = signals.points("outgoing_call_seconds", label, within=self.window)
            recent, earlier = self.split(signals, points)
            recent = recent[-self.min_intervals:]
            failures = {point.ts: point.value for point in signals.points(
                "outgoing_failure_ratio", label, within=self.window_length)}
            normal = self.normal(signals, "outgoing_call_seconds", label, earlier)
            bound = normal_bound(normal, floor=self.floor_seconds, factor=self.factor)
            if len(recent) < self.min_intervals or not all(
                    lags.get(p.ts, 0.0) < self.floor_seconds
                    and (p.value > bound or failures.get(p.ts, 0.0) > self.max_failure_ratio)
                    for p in recent):
                continue
            failed = failures.get(recent[-1].ts, 0.0)
            usual = "" if normal is None else f", normally {normal.median * 1000:.0f} ms"
            found.append(Detection(
                self.name, label, "critical" if failed >= 0.5 else "warning",
                f"{label} is slow: its calls take {recent[-1].value * 1000:.0f} ms{usual} "
                f"(bound {bound * 1000:.0f} ms), {failed:.0%} failing",
                {"series": "outgoing_call_seconds", "points": evidence(points), "bound": bound,
                 "baseline": described(normal),
                 "failure_ratios": [[ts.isoformat(), round(ratio, 6)]
                                    for ts, ratio in sorted(failures.items())]}))
        return found

    def _cache(self, signals: Signals) -> list[Detection]:
        """Medians over the short window: one PING per process and interval is noisy on a busy
        machine (measured in a clean eval run: 0.7 to 16.5 ms from one interval to the next,
        beside SELECT 1s of 3 to 7 ms), and a cache only loses when it is clearly slower."""
        points = signals.points("cache_round_trip_seconds", "avg", within=self.window_length)
        database = [point.value for point in signals.points(
            "db_round_trip_seconds", "avg", within=self.window_length)]
        if len(points) < self.min_intervals or not database:
            return []
        trip, spared = float(np.median([p.value for p in points])), float(np.median(database))
        if trip <= max(self.cache_floor_seconds, CACHE_SLOWER_FACTOR * spared):
            return []
        return [Detection(
            self.name, self.CACHE, "warning",
            f"the cache's Redis is slower than the database it spares: a round trip takes "
            f"{trip * 1000:.1f} ms (median over {span(self.window_length)}), the database's "
            f"{spared * 1000:.1f} ms",
            {"series": "cache_round_trip_seconds", "points": evidence(points),
             "database_seconds": spared})]


@dataclass(kw_only=True)
class DependencyDown:
    """A dependency that processes cannot reach: Redis, as each process's breaker or rate
    limiter finds it, in each of the last intervals; the database, as the share of statements
    that fail. The processes keep serving (L1, local counts), so this is what says why."""

    window: timedelta
    min_intervals: int
    max_error_ratio: float
    min_statements: int
    name: str = "dependency_down"
    inputs: tuple[str, ...] = ("dependency_down_ratio", "db_error_ratio")

    def evaluate(self, signals: Signals) -> list[Detection]:
        found = []
        for label in signals.labels("dependency_down_ratio"):
            points = signals.points("dependency_down_ratio", label, within=self.window)
            recent = points[-self.min_intervals:]
            if len(recent) < self.min_intervals or not all(p.value > 0 for p in recent):
                continue
            found.append(Detection(
                self.name, label, "critical",
                f"{label} unreachable from {recent[-1].value:.0%} of the web processes for "
                f"{len(recent)} intervals",
                {"series": "dependency_down_ratio", "points": evidence(points)}))
        points = signals.points("db_error_ratio", ALL, within=self.window)
        ratio, statements = weighted(points)
        if statements >= self.min_statements and ratio > self.max_error_ratio:
            found.append(Detection(
                self.name, "database", "critical",
                f"{ratio:.0%} of {statements} SQL statements failed in {span(self.window)}",
                {"series": "db_error_ratio", "points": evidence(points)}))
        return found


@dataclass(kw_only=True)
class IntegrationMethodMismatch(AgainstHistory):
    """An error group (an exception's type and the code that raised it, from every process's
    shipped logs) that is new or surging: at least `min_errors` in the short window, and none
    in the history before it, or `surge_factor` times its rate there. This is how a deploy or a
    flag change that calls something the wrong way shows: an exception that was not there, from
    one place, all at once. The original matched a "method not found" text its code never
    logged (REFERENCE.md, "Performance monitor")."""

    min_errors: int
    surge_factor: float
    name: str = "integration_method_mismatch"
    inputs: tuple[str, ...] = (LOGGED_ERRORS,)

    def evaluate(self, signals: Signals) -> list[Detection]:
        found = []
        for label in signals.labels(LOGGED_ERRORS):
            points = signals.points(LOGGED_ERRORS, label, within=self.window)
            judged, earlier = self.split(signals, points)
            recent = sum(point.samples for point in judged)
            before = sum(point.samples for point in earlier)
            rate = recent / self.window_length.total_seconds()
            usual = before / self.history.total_seconds()
            if recent < self.min_errors or (before and rate < self.surge_factor * usual):
                continue
            what = (f"new: none in the {span(self.history)} before" if not before else
                    f"{rate / usual:.0f} times its rate in the {span(self.history)} before")
            found.append(Detection(
                self.name, label, "critical",
                f"{label}: {recent} errors in {span(self.window_length)} ({what})",
                {"series": LOGGED_ERRORS, "points": evidence(points), "new": not before,
                 "errors": recent, "errors_before": before,
                 "first_seen": judged[0].ts.isoformat()}))
        return found


@dataclass(kw_only=True)
class AbusiveClient:
    """One client (a user or an address) making a large share of the rate-limited requests that
    every process admitted, in each of the last intervals, and enough of them that it is not
    one person's busy minute on a quiet site: a scraper, a retry loop, a stolen token. Only
    admitted requests count, so a client whose limit was tightened goes quiet."""

    window: timedelta
    max_share: float
    min_requests: int
    min_intervals: int
    name: str = "abusive_client"
    inputs: tuple[str, ...] = ("client_request_share",)

    def evaluate(self, signals: Signals) -> list[Detection]:
        found = []
        for label in signals.labels("client_request_share"):
            points = signals.points("client_request_share", label, within=self.window)
            recent = points[-self.min_intervals:]
            requests = round(sum(point.value * point.samples for point in points))
            if (len(recent) < self.min_intervals or requests < self.min_requests
                    or not all(point.value >= self.max_share for point in recent)):
                continue
            share, admitted = weighted(points)
            found.append(Detection(
                self.name, label, "warning",
                f"{label} made {share:.0%} of the {admitted} rate-limited requests admitted in "
                f"{span(self.window)} ({requests} requests)",
                {"series": "client_request_share", "points": evidence(points),
                 "requests": requests}))
        return found


def from_settings(settings: Settings) -> list[Detector]:
    """The detectors over the metrics history, the shipped logs and the database's views, with
    the thresholds of `settings`."""
    # Here, not at the top: the statement and client detectors make this module's Detections.
    from lifeceo.platform.monitor import statement_detectors
    from lifeceo.platform.monitor.client_detectors import ClientPerformanceRegression

    step = settings.metrics_history_interval_seconds
    return [
        SlowApiResponse(slo_seconds=settings.monitor_latency_slo_ms / 1000,
                        budget=settings.monitor_latency_slo_budget,
                        burn_rate=settings.monitor_burn_rate,
                        short=timedelta(seconds=settings.monitor_short_window_seconds),
                        long=timedelta(seconds=settings.monitor_long_window_seconds),
                        min_requests=settings.monitor_min_requests_per_interval,
                        history=timedelta(seconds=settings.monitor_baseline_seconds),
                        band_factor=settings.monitor_latency_band_factor,
                        band_floor_seconds=settings.monitor_latency_band_floor_ms / 1000,
                        band_intervals=settings.monitor_latency_band_intervals,
                        min_baseline_points=settings.monitor_min_baseline_points),
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
        NPlusOne(window=timedelta(seconds=settings.monitor_short_window_seconds),
                 min_requests=settings.monitor_n_plus_one_min_requests,
                 min_ratio=settings.monitor_n_plus_one_min_ratio),
        DatabaseSlow(window_length=timedelta(seconds=settings.monitor_short_window_seconds),
                     history=timedelta(seconds=settings.monitor_baseline_seconds),
                     floor_seconds=settings.monitor_db_slow_floor_ms / 1000,
                     factor=settings.monitor_db_slow_factor,
                     min_intervals=settings.monitor_db_slow_intervals,
                     min_baseline_points=settings.monitor_min_baseline_points),
        SlowDependency(window_length=timedelta(seconds=settings.monitor_short_window_seconds),
                       history=timedelta(seconds=settings.monitor_baseline_seconds),
                       floor_seconds=settings.monitor_dependency_slow_floor_ms / 1000,
                       factor=settings.monitor_dependency_slow_factor,
                       min_intervals=settings.monitor_dependency_slow_intervals,
                       min_baseline_points=settings.monitor_min_baseline_points,
                       max_failure_ratio=settings.monitor_dependency_max_failure_ratio,
                       cache_floor_seconds=settings.monitor_cache_slow_floor_ms / 1000),
        IntegrationMethodMismatch(
            window_length=timedelta(seconds=settings.monitor_short_window_seconds),
            history=timedelta(seconds=settings.monitor_baseline_seconds),
            min_errors=settings.monitor_error_group_min_errors,
            surge_factor=settings.monitor_error_group_surge_factor),
        AbusiveClient(window=timedelta(seconds=settings.monitor_short_window_seconds),
                      max_share=settings.monitor_client_max_share,
                      min_requests=settings.monitor_client_min_requests,
                      min_intervals=settings.monitor_client_intervals),
        DependencyDown(window=timedelta(seconds=settings.monitor_short_window_seconds),
                       min_intervals=settings.monitor_dependency_down_intervals,
                       max_error_ratio=settings.monitor_db_max_error_ratio,
                       min_statements=settings.monitor_min_requests_per_window),
        statement_detectors.SlowQuery(
            floor_ms=settings.monitor_slow_query_floor_ms,
            min_calls=settings.monitor_slow_query_min_calls,
            factor=settings.monitor_slow_query_factor,
            min_history_calls=settings.monitor_slow_query_min_history_calls,
            window=timedelta(seconds=settings.monitor_short_window_seconds)),
        statement_detectors.RunawayQuery(limit_seconds=settings.monitor_runaway_query_seconds),
        ClientPerformanceRegression(
            window_length=timedelta(seconds=settings.monitor_short_window_seconds),
            history=timedelta(seconds=settings.monitor_baseline_seconds),
            vitals={"lcp": (RUM_SERIES["lcp"], settings.monitor_rum_lcp_good_ms / 1000),
                    "inp": (RUM_SERIES["inp"], settings.monitor_rum_inp_good_ms / 1000)},
            factor=settings.monitor_rum_regression_factor,
            min_beacons=settings.monitor_rum_min_beacons,
            min_baseline_points=settings.monitor_min_baseline_points),
    ]
