"""The faults `lifeceo monitor eval` injects: each kind's magnitude, target, and the detectors
that should see it. A kind no detector watches says so (an empty tuple): it is scored as not
detected, never left out."""

from dataclasses import dataclass


@dataclass(frozen=True)
class PlannedFault:
    kind: str
    magnitude: float
    # None: every target ("all").
    target: str | None
    expected: tuple[str, ...]
    # Why this magnitude produces a real symptom under the eval's background load.
    why: str


FAULTS = {fault.kind: fault for fault in (
    PlannedFault("route_errors", 0.5, "feed", ("error_burst", "integration_method_mismatch"),
                 "half of the feed's requests (~45 % of the load) fail: 300 times the 0.1 % "
                 "budget"),
    PlannedFault("db_latency", 300, None, ("database_connection_slow", "slow_api_response"),
                 "every statement 300 ms slower: p95 of every route class past the 200 ms SLO"),
    PlannedFault("loop_blocker", 800, None, ("event_loop_blocked", "slow_api_response"),
                 "each process's loop blocked 0.8 s of every second: lag above the 0.5 s bound"),
    PlannedFault("memory_leak", 128, None, ("memory_usage_high",),
                 "128 MB a minute per web process: reaches the 1 GiB RSS limit in ~7 min"),
    PlannedFault("cold_cache", 1, "feed", ("low_cache_hit_rate",),
                 "the feed namespace emptied every second: its hit ratio falls to ~0"),
    PlannedFault("queue_stall", 1, "performance-metrics", ("queue_backlog",),
                 "the beacons' queue held at 0: its jobs wait and pile up"),
    PlannedFault("n_plus_one", 200, None, ("n_plus_one",),
                 "the probe route (5 % of the load) repeats its SELECT 200 times"),
    PlannedFault("slow_dependency", 2000, None, ("slow_dependency",),
                 "outgoing HTTP and SMTP 2 s slower: the likes' purges (5 % of the load) time "
                 "out at 1 s"),
    # The breaker degrades to L1 on its own; the detector says why.
    PlannedFault("redis_outage", 1, None, ("dependency_down",),
                 "the cache's and the rate limiter's Redis connections refused"),
)}
# Redis is the eval's only optional dependency: without LIFECEO_REDIS_URL there is no outage.
NEEDS_REDIS = frozenset({"redis_outage"})


def supported(*, redis: bool) -> tuple[str, ...]:
    """The kinds this deployment can inject, in the order the eval runs them."""
    return tuple(kind for kind in FAULTS if redis or kind not in NEEDS_REDIS)
