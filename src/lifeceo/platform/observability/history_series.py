"""The series the metrics history keeps: name, unit, how a rollup aggregates it, what its label
names."""

from dataclasses import dataclass
from typing import Literal

from lifeceo.platform.observability.rum import VITALS

# gauge: mean over a rollup; rate: mean of per-interval rates; ratio: mean weighted by the
# samples behind each value (errors/requests over the whole minute, not a mean of ratios);
# percentile: read off the re-merged latency histograms of the rollup's intervals.
Kind = Literal["gauge", "rate", "ratio", "percentile"]
ALL = "all"
# Route classes, cache namespaces and queue names are all short.
LABEL_CHARS = 64


@dataclass(frozen=True)
class Series:
    name: str
    kind: Kind
    unit: str
    label: str
    description: str


QUANTILES = {"http_latency_p50_seconds": 0.50, "http_latency_p95_seconds": 0.95,
             "http_latency_p99_seconds": 0.99}
# Core Web Vitals are judged at the 75th percentile of page loads (web.dev/articles/vitals).
RUM_QUANTILE = 0.75
RUM_SERIES = {vital: f"rum_{vital}_p75_seconds" for vital in VITALS}
# The vitals' histograms are kept in metrics_histograms beside the route classes', keyed
# `rum:lcp`: a route class never has a colon, and the rollups re-merge them the same way.
RUM_HISTOGRAM_PREFIX = "rum:"
_VITAL_NAMES = {"lcp": "Largest Contentful Paint", "inp": "Interaction to Next Paint",
                "ttfb": "Time to First Byte"}

SERIES: dict[str, Series] = {series.name: series for series in (
    *(Series(name, "percentile", "s", "route_class",
             f"p{round(q * 100)} of request latency, per route class and 'all'")
      for name, q in QUANTILES.items()),
    Series("http_request_rate_per_second", "rate", "1/s", "route_class",
           "Requests finished per second, per route class and 'all' (0 when idle)"),
    Series("http_error_ratio", "ratio", "1", "route_class",
           "Share of responses with a 5xx status, per route class and 'all'"),
    Series("cache_hit_ratio", "ratio", "1", "namespace",
           "Share of cache lookups answered without computing, per namespace and 'all'"),
    Series("db_pool_utilisation_ratio", "gauge", "1", "stat",
           "Checked-out connections over pool capacity: 'avg' over the interval across all "
           "processes, 'max' the fullest process at its fullest"),
    Series("queue_depth", "gauge", "1", "queue", "Jobs due and waiting, per queue"),
    Series("queue_oldest_age_seconds", "gauge", "s", "queue",
           "How long the oldest due job has waited, per queue"),
    Series("event_loop_lag_seconds", "gauge", "s", "stat",
           "Event-loop delay: 'avg' of every probe, 'max' the worst one of any process"),
    Series("process_rss_bytes", "gauge", "B", "stat",
           "Resident memory of the web processes: 'sum' over them and 'max' of one"),
    Series("web_processes", "gauge", "1", "stat", "Web processes that reported ('all')"),
    Series("sql_statements_per_request", "ratio", "1", "route_class",
           "SQL statements per request, per route class (with the request profiles on)"),
    Series("n_plus_one_ratio", "ratio", "1", "route_class",
           "Share of requests that ran one statement fingerprint at least 5 times for at least "
           "50 ms (Sentry's N+1 rule), per route class (with the request profiles on)"),
    Series("db_round_trip_seconds", "gauge", "s", "stat",
           "A pooled connection's checkout and a SELECT 1, measured by each web process every "
           "interval: 'avg' over them and 'max' of one"),
    Series("cache_round_trip_seconds", "gauge", "s", "stat",
           "A PING of the cache's Redis, measured by each web process every interval while its "
           "breaker is closed: 'avg' over them and 'max' of one"),
    Series("db_statement_seconds", "ratio", "s", "stat",
           "Mean time of the SQL statements of every web process ('avg')"),
    Series("db_error_ratio", "ratio", "1", "stat", "Share of SQL statements that failed ('all')"),
    Series("dependency_down_ratio", "ratio", "1", "dependency",
           "Share of the web processes watching a dependency that find it unreachable, per "
           "dependency (a breaker held open by a lever is left out)"),
    Series("outgoing_call_seconds", "ratio", "s", "dependency",
           "Mean time of the web processes' calls to a network dependency (varnish purges, "
           "smtp and webhook deliveries run in a web process), per dependency"),
    Series("outgoing_failure_ratio", "ratio", "1", "dependency",
           "Share of those calls that failed (refused, timed out), per dependency"),
    Series("client_request_share", "ratio", "1", "client",
           "Share of the rate-limited requests admitted by every process that one client "
           "('user:<id>', 'ip:<address>') made, for clients of at least 5 %"),
    *(Series(name, "percentile", "s", "stat",
             f"p75 of {_VITAL_NAMES[vital]} as the browsers' beacons (POST /api/v1/rum) "
             f"measured it ('all'); samples are the beacons that reported it")
      for vital, name in RUM_SERIES.items()),
)}

PERCENTILE_SERIES = tuple(name for name, series in SERIES.items() if series.kind == "percentile")
RATIO_SERIES = tuple(name for name, series in SERIES.items() if series.kind == "ratio")


def histogram_series(key: str) -> list[tuple[str, dict[str, float]]]:
    """Where a stored histogram counts, as (label, {series: quantile}): a route class's under its
    own label and 'all', a vital's (`rum:lcp`) under 'all' alone."""
    if key.startswith(RUM_HISTOGRAM_PREFIX):
        name = RUM_SERIES.get(key[len(RUM_HISTOGRAM_PREFIX):])
        return [] if name is None else [(ALL, {name: RUM_QUANTILE})]
    return [(key, QUANTILES), (ALL, QUANTILES)]
