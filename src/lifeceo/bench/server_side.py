"""Latency as the server measured it: its request-duration histogram (`/api/metrics`, summed over
the worker processes) read before and after a run. wrk's percentiles include the time requests
wait in the kernel and in wrk itself; these start when a worker takes the request."""

import httpx
from prometheus_client.parser import text_string_to_metric_families

DURATION = "lifeceo_http_request_duration_seconds"
# The scrapes themselves are not part of the workload.
NOT_COUNTED = frozenset({"/api/metrics"})

Buckets = dict[float, float]


def duration_buckets(url: str) -> Buckets | None:
    """Requests served so far by upper bound (cumulative), all routes and statuses; None when
    the server has no metrics (switched off)."""
    response = httpx.get(f"{url}/api/metrics", timeout=10)
    if response.status_code != 200:
        return None
    buckets: Buckets = {}
    for family in text_string_to_metric_families(response.text):
        if family.name != DURATION:
            continue
        for sample in family.samples:
            if sample.name == f"{DURATION}_bucket" and sample.labels["route"] not in NOT_COUNTED:
                bound = float(sample.labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + sample.value
    return buckets


def quantile_ms(before: Buckets | None, after: Buckets | None, q: float) -> float | None:
    """The q-quantile of the requests served between the two readings, interpolated within its
    bucket as Prometheus's histogram_quantile does; None without readings or requests."""
    if before is None or after is None:
        return None
    counts = sorted((bound, after[bound] - before.get(bound, 0.0)) for bound in after)
    total = counts[-1][1] if counts else 0.0
    if total <= 0:
        return None
    rank, lower, below = q * total, 0.0, 0.0
    for bound, cumulative in counts:
        if cumulative >= rank:
            if bound == float("inf"):
                return round(lower * 1000, 1)
            share = (rank - below) / (cumulative - below) if cumulative > below else 1.0
            return round((lower + (bound - lower) * share) * 1000, 1)
        lower, below = bound, cumulative
    return round(lower * 1000, 1)
