"""The platform's Prometheus metrics, each defined once here (prefix `lifeceo_`).

Under `lifeceo serve` every process writes its values to PROMETHEUS_MULTIPROC_DIR (set by the
supervisor before any worker starts) and a scrape of any worker sums them: counters and
histograms of dead workers stay in the sum, so no counter goes backwards when a worker is
replaced; gauges use a `live*` mode, so a dead worker's gauges leave with it. Without that
directory (tests, one process) prometheus_client keeps them in memory."""

from prometheus_client import Counter, Gauge, Histogram

# Set from LIFECEO_METRICS_ENABLED by the process at startup; the hooks in other packages ask.
state = {"enabled": True}

# 200 ms is the latency objective (deploy/prometheus), so it must be a bucket boundary.
# Fine around the targets (search p95 25 ms, the latency SLO's 200 ms): quantiles are
# interpolated within a bucket.
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.035, 0.05, 0.075, 0.1, 0.15,
                0.2, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DB_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

HTTP_LABELS = ("route", "method", "status")
http_requests = Counter(
    "lifeceo_http_requests_total",
    "HTTP requests by route template (\"unmatched\" for no route), method and status class.",
    HTTP_LABELS)
http_duration = Histogram(
    "lifeceo_http_request_duration_seconds",
    "Time from the request's arrival to the end of its response body.",
    HTTP_LABELS, buckets=HTTP_BUCKETS)
http_in_flight = Gauge(
    "lifeceo_http_requests_in_flight", "Requests being served now.",
    multiprocess_mode="livesum")

db_queries = Histogram(
    "lifeceo_db_query_duration_seconds",
    "SQL statements by kind (select, insert, update, delete, other); _count is the query count.",
    ("kind",), buckets=DB_BUCKETS)
db_query_errors = Counter(
    "lifeceo_db_query_errors_total", "SQL statements that raised, by kind.", ("kind",))
# Per process: each worker has its own pool, and saturation is a per-pool condition.
db_pool_size = Gauge(
    "lifeceo_db_pool_size", "Connections the pool keeps open (pool_size).",
    multiprocess_mode="liveall")
db_pool_max = Gauge(
    "lifeceo_db_pool_max_connections", "The most connections the pool may open (size + overflow).",
    multiprocess_mode="liveall")
db_pool_checked_out = Gauge(
    "lifeceo_db_pool_checked_out", "Connections in use.", multiprocess_mode="liveall")
db_pool_waiting = Gauge(
    "lifeceo_db_pool_waiting", "Callers waiting for a connection.", multiprocess_mode="liveall")

CACHE_LABELS = ("namespace", "tier")
cache_hits = Counter("lifeceo_cache_hits_total", "Cache hits by key namespace and tier.",
                     CACHE_LABELS)
cache_misses = Counter("lifeceo_cache_misses_total", "Cache misses by key namespace and tier.",
                       CACHE_LABELS)
cache_evictions = Counter("lifeceo_cache_evictions_total",
                          "Entries evicted for room, by key namespace and tier.", CACHE_LABELS)
cache_errors = Counter("lifeceo_cache_errors_total",
                       "Cache operations that failed (Redis errors, timeouts), by namespace and tier.",
                       CACHE_LABELS)
# The cache's own definition of a hit: the caller got a value without computing it (from L1,
# L2, or another caller's computation of the same key).
cache_lookups = Counter("lifeceo_cache_lookups_total",
                        "Cache lookups by key namespace and result (hit, miss).",
                        ("namespace", "result"))
# The breaker guards the Redis tier as a whole, not a namespace.
cache_breaker_state = Gauge(
    "lifeceo_cache_breaker_state",
    "Redis circuit breaker: 0 closed, 1 half-open (probing), 2 open; the worst live process.",
    ("tier",), multiprocess_mode="livemax")

job_duration = Histogram(
    "lifeceo_job_duration_seconds", "Job runs by queue and outcome (succeeded, failed).",
    ("queue", "outcome"), buckets=JOB_BUCKETS)

rate_limit_decisions = Counter(
    "lifeceo_rate_limit_decisions_total", "Rate-limit checks by policy and decision.",
    ("policy", "decision"))

event_loop_lag = Histogram(
    "lifeceo_event_loop_lag_seconds",
    "How late the event loop ran a timer: time a ready task waits behind the others.",
    buckets=LAG_BUCKETS)

process_rss = Gauge("lifeceo_process_resident_memory_bytes", "Resident memory per process.",
                    multiprocess_mode="liveall")
process_open_fds = Gauge("lifeceo_process_open_fds", "Open file descriptors per process.",
                         multiprocess_mode="liveall")
process_cpu = Counter("lifeceo_process_cpu_seconds_total",
                      "CPU time (user + system) of every process, dead ones included.")
gc_collections = Counter("lifeceo_python_gc_collections_total",
                         "Garbage collector runs by generation.", ("generation",))
gc_collected = Counter("lifeceo_python_gc_objects_collected_total",
                       "Objects the garbage collector freed, by generation.", ("generation",))

# Log shipping (logs_shipper.py): what reached log_records, and what never will.
log_records_shipped = Counter("lifeceo_log_records_shipped_total",
                              "Warnings and errors written to the log_records table.")
log_records_dropped = Counter(
    "lifeceo_log_records_dropped_total",
    "Warnings and errors that will not reach log_records, by reason: queue_full, "
    "database_unavailable (past the retry time), rejected (by the database), shutdown.",
    ("reason",))
log_ship_queue = Gauge("lifeceo_log_ship_queue_records",
                       "Records waiting to be shipped to log_records, per process.",
                       multiprocess_mode="liveall")

# The performance monitor (platform/monitor/leader.py), counted by the leader that evaluated.
# An evaluation is a few queries and milliseconds of arithmetic; 15 s would be far too slow.
MONITOR_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
monitor_evaluations = Counter(
    "lifeceo_monitor_evaluations_total",
    "Evaluations of every detector by the monitor's leader, by outcome (ok, failed).",
    ("outcome",))
monitor_evaluation_duration = Histogram(
    "lifeceo_monitor_evaluation_duration_seconds",
    "Time of one evaluation: reading the history, the detectors, recording incidents.",
    buckets=MONITOR_BUCKETS)
monitor_detections = Counter(
    "lifeceo_monitor_detections_total",
    "What the detectors found, one per fingerprint per evaluation, by detector.", ("detector",))
monitor_incidents_opened = Counter(
    "lifeceo_monitor_incidents_opened_total",
    "Incidents opened (reopened ones included), by detector.", ("detector",))
monitor_actions = Counter(
    "lifeceo_monitor_actions_total",
    "Remediation attempts by action and by the outcome each reached (awaiting_approval, "
    "verifying, mitigated, undone, rejected, failed, dry_run).", ("action", "outcome"))
# livesum: the live processes holding the lock on this node, 1 on the leader's, 0 elsewhere.
monitor_leader = Gauge(
    "lifeceo_monitor_leader", "1 while this process holds the monitor's leader lock.",
    multiprocess_mode="livesum")


def configure(*, enabled: bool) -> None:
    state["enabled"] = enabled


def record_rate_limit(policy: str, *, allowed: bool) -> None:
    if state["enabled"]:
        rate_limit_decisions.labels(policy, "allowed" if allowed else "refused").inc()


def observe_job(queue: str, *, seconds: float, failed: bool) -> None:
    if state["enabled"]:
        job_duration.labels(queue, "failed" if failed else "succeeded").observe(seconds)
