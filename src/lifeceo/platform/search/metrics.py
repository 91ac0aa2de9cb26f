"""Search in /api/metrics: queries and their time by kind of document, and whether the ranked
set was cut to the newest candidates (a common word) or ranked whole."""

from prometheus_client import Counter, Histogram

SEARCH_SECONDS = Histogram(
    "lifeceo_search_duration_seconds", "Time to rank one kind of document for a search.",
    ["kind"],
    # The target is a 25 ms p95: buckets are fine around it.
    buckets=(0.002, 0.005, 0.01, 0.015, 0.025, 0.04, 0.06, 0.1, 0.25, 0.5, 1.0, 2.5))
SEARCH_MATCHES = Counter(
    "lifeceo_search_queries_total", "Searches of one kind of document, by how they matched.",
    ["kind", "outcome"])
