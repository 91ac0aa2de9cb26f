"""The leader's arithmetic: the staged rows of one interval (one per web process) into the
series' values. Pure, so that the sums and percentiles are tested without a database."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lifeceo.platform.observability.histogram import merge, percentiles
from lifeceo.platform.observability.history_series import (
    ALL,
    QUANTILES,
    RUM_HISTOGRAM_PREFIX,
    RUM_QUANTILE,
    RUM_SERIES,
)

# A client is written to the series from this share of the admitted requests up: at most 20 an
# interval, the ones that can matter, not every visitor's address.
MIN_CLIENT_SHARE = 0.05


@dataclass(frozen=True)
class Point:
    name: str
    label: str
    value: float
    samples: int


@dataclass(frozen=True)
class QueueReading:
    queue: str
    waiting: int
    oldest_waiting_seconds: float


def aggregate(payloads: list[dict], *, interval_seconds: float, carried: Sequence[dict] = ()
              ) -> tuple[list[Point], dict[str, tuple[int, dict]]]:
    """Points of the interval, and per route class and vital (`rum:lcp`) (count, merged sparse
    histogram). `carried` rows (late for their own interval) add their request, beacon and cache
    counts only."""
    points: list[Point] = []
    counted = [*payloads, *carried]
    histograms = _http(counted, interval_seconds, points)
    histograms.update(_rum(counted, points))
    _cache(counted, points)
    _process(payloads, points)
    _database(payloads, points)
    _dependencies(payloads, points)
    _outgoing(counted, points)
    _clients(counted, points)
    return points, histograms


def queue_points(readings: Iterable[QueueReading], queues: Iterable[str]) -> list[Point]:
    """Depth and oldest age of every queue, 0 for a queue with nothing waiting."""
    found = {reading.queue: reading for reading in readings}
    points = []
    for queue in queues:
        reading = found.get(queue)
        points.append(Point("queue_depth", queue, float(reading.waiting if reading else 0), 1))
        points.append(Point("queue_oldest_age_seconds", queue,
                            float(reading.oldest_waiting_seconds or 0.0) if reading else 0.0, 1))
    return points


def _http(payloads: list[dict], interval_seconds: float,
          points: list[Point]) -> dict[str, tuple[int, dict]]:
    by_class: dict[str, list[dict]] = {}
    for payload in payloads:
        for name, counts in payload.get("http", {}).items():
            by_class.setdefault(name, []).append(counts)
    histograms: dict[str, tuple[int, dict]] = {}
    every: list[dict] = []
    total_requests = total_errors = 0
    for name, counts in sorted(by_class.items()):
        requests = sum(c["requests"] for c in counts)
        errors = sum(c["errors"] for c in counts)
        statements = sum(c.get("statements", 0) for c in counts)
        repeated = sum(c.get("repeated", 0) for c in counts)
        hist = merge([c["hist"] for c in counts])
        every.append({str(i): n for i, n in hist.items()})
        histograms[name] = (requests, {str(i): n for i, n in sorted(hist.items())})
        total_requests += requests
        total_errors += errors
        _request_points(points, name, requests, errors, hist, interval_seconds)
        if statements:  # the request profiles are on
            points.append(Point("sql_statements_per_request", name, statements / requests,
                                requests))
            points.append(Point("n_plus_one_ratio", name, repeated / requests, requests))
    points.append(Point("http_request_rate_per_second", ALL, total_requests / interval_seconds,
                        total_requests))
    if total_requests:
        _request_points(points, ALL, total_requests, total_errors, merge(every), interval_seconds,
                        rate=False)
    return histograms


def _request_points(points: list[Point], label: str, requests: int, errors: int,
                    hist: dict[int, int], interval_seconds: float, *, rate: bool = True) -> None:
    if rate:
        points.append(Point("http_request_rate_per_second", label, requests / interval_seconds,
                            requests))
    points.append(Point("http_error_ratio", label, errors / requests, requests))
    values = percentiles(hist, tuple(QUANTILES.values()))
    for name, quantile in QUANTILES.items():
        points.append(Point(name, label, values[quantile], requests))


def _rum(payloads: list[dict], points: list[Point]) -> dict[str, tuple[int, dict]]:
    """The p75 of each vital over every process's beacons of the interval."""
    by_vital: dict[str, list[dict]] = {}
    for payload in payloads:
        for vital, counts in payload.get("rum", {}).items():
            if vital in RUM_SERIES:
                by_vital.setdefault(vital, []).append(counts)
    histograms: dict[str, tuple[int, dict]] = {}
    for vital, counts in sorted(by_vital.items()):
        beacons = sum(c["beacons"] for c in counts)
        hist = merge([c["hist"] for c in counts])
        value = percentiles(hist, (RUM_QUANTILE,))[RUM_QUANTILE]
        if not beacons or value is None:
            continue
        points.append(Point(RUM_SERIES[vital], ALL, value, beacons))
        histograms[f"{RUM_HISTOGRAM_PREFIX}{vital}"] = (
            beacons, {str(i): n for i, n in sorted(hist.items())})
    return histograms


def _cache(payloads: list[dict], points: list[Point]) -> None:
    lookups: dict[str, int] = {}
    hits: dict[str, int] = {}
    for payload in payloads:
        for namespace, (n, h) in payload.get("cache", {}).items():
            lookups[namespace] = lookups.get(namespace, 0) + n
            hits[namespace] = hits.get(namespace, 0) + h
    for namespace in sorted(lookups):
        if lookups[namespace]:
            points.append(Point("cache_hit_ratio", namespace,
                                hits[namespace] / lookups[namespace], lookups[namespace]))
    total = sum(lookups.values())
    if total:
        points.append(Point("cache_hit_ratio", ALL, sum(hits.values()) / total, total))


def _process(payloads: list[dict], points: list[Point]) -> None:
    processes = len(payloads)
    points.append(Point("web_processes", ALL, float(processes), processes))
    pools = [p["pool"] for p in payloads if p.get("pool") and p["pool"]["capacity"]]
    if pools:
        capacity = sum(pool["capacity"] for pool in pools)
        points.append(Point("db_pool_utilisation_ratio", "avg",
                            sum(pool["mean_checked_out"] for pool in pools) / capacity, len(pools)))
        points.append(Point("db_pool_utilisation_ratio", "max",
                            max(pool["max_checked_out"] / pool["capacity"] for pool in pools),
                            len(pools)))
    lags = [p["loop_lag"] for p in payloads if p.get("loop_lag") and p["loop_lag"]["count"]]
    if lags:
        probes = sum(lag["count"] for lag in lags)
        points.append(Point("event_loop_lag_seconds", "avg",
                            sum(lag["sum"] for lag in lags) / probes, probes))
        points.append(Point("event_loop_lag_seconds", "max", max(lag["max"] for lag in lags),
                            probes))
    rss = [p["rss_bytes"] for p in payloads if p.get("rss_bytes")]
    if rss:
        points.append(Point("process_rss_bytes", "sum", float(sum(rss)), len(rss)))
        points.append(Point("process_rss_bytes", "max", float(max(rss)), len(rss)))


def _database(payloads: list[dict], points: list[Point]) -> None:
    trips = [p["db"]["round_trip_seconds"] for p in payloads
             if p.get("db") and p["db"].get("round_trip_seconds") is not None]
    _round_trips("db_round_trip_seconds", trips, points)
    _round_trips("cache_round_trip_seconds", [
        p["cache_round_trip_seconds"] for p in payloads
        if p.get("cache_round_trip_seconds") is not None], points)
    statements = sum(p["db"]["statements"] for p in payloads if p.get("db"))
    if statements:
        seconds = sum(p["db"]["statement_seconds"] for p in payloads if p.get("db"))
        errors = sum(p["db"]["errors"] for p in payloads if p.get("db"))
        points.append(Point("db_statement_seconds", "avg", seconds / statements, statements))
        points.append(Point("db_error_ratio", ALL, errors / statements, statements))


def _round_trips(name: str, trips: list[float], points: list[Point]) -> None:
    if trips:
        points.append(Point(name, "avg", sum(trips) / len(trips), len(trips)))
        points.append(Point(name, "max", max(trips), len(trips)))


def _dependencies(payloads: list[dict], points: list[Point]) -> None:
    """Per dependency, the share of the processes watching it that find it down."""
    watching: dict[str, int] = {}
    down: dict[str, int] = {}
    for payload in payloads:
        for name, up in payload.get("dependencies", {}).items():
            watching[name] = watching.get(name, 0) + 1
            down[name] = down.get(name, 0) + (not up)
    for name in sorted(watching):
        points.append(Point("dependency_down_ratio", name, down[name] / watching[name],
                            watching[name]))


def _outgoing(payloads: list[dict], points: list[Point]) -> None:
    """Per dependency called in the interval, the mean time and the share of failed calls."""
    calls: dict[str, list[float]] = {}
    for payload in payloads:
        for name, (n, seconds, failures) in payload.get("outgoing", {}).items():
            total = calls.setdefault(name, [0, 0.0, 0])
            total[0] += n
            total[1] += seconds
            total[2] += failures
    for name, (n, seconds, failures) in sorted(calls.items()):
        if n:
            points.append(Point("outgoing_call_seconds", name, seconds / n, int(n)))
            points.append(Point("outgoing_failure_ratio", name, failures / n, int(n)))


def _clients(payloads: list[dict], points: list[Point]) -> None:
    """The busiest clients' shares of the rate-limited requests every process admitted."""
    admitted = sum(payload.get("clients", {}).get("admitted", 0) for payload in payloads)
    counts: dict[str, int] = {}
    for payload in payloads:
        for subject, n in payload.get("clients", {}).get("top", {}).items():
            counts[subject] = counts.get(subject, 0) + n
    for subject, n in sorted(counts.items()):
        if admitted and n / admitted >= MIN_CLIENT_SHARE:
            points.append(Point("client_request_share", subject, n / admitted, admitted))
