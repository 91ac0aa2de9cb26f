"""Latency histograms, the request window and the leader's aggregation: the arithmetic of the
metrics history, without a database."""

import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from lifeceo.errors import Unprocessable
from lifeceo.platform.observability import outgoing
from lifeceo.platform.observability.clients import BusiestClients
from lifeceo.platform.observability.histogram import (
    BUCKETS,
    MIN_SECONDS,
    bucket_middle,
    bucket_of,
    merge,
    percentiles,
)
from lifeceo.platform.observability.history_aggregate import QueueReading, aggregate, queue_points
from lifeceo.platform.observability.history_series import SERIES, histogram_series
from lifeceo.platform.observability.history_service import choose_resolution
from lifeceo.platform.observability.outgoing import OutgoingCalls
from lifeceo.platform.observability.rum import RumWindow, rum_delta
from lifeceo.platform.observability.window import RequestWindow, delta, route_class
from lifeceo.settings import Settings

QUANTILES = (0.5, 0.95, 0.99)


def exact(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(round(q * len(ordered), 9))) - 1]


def histogram_of(values: list[float]) -> dict[int, int]:
    hist: dict[int, int] = {}
    for value in values:
        index = bucket_of(value)
        hist[index] = hist.get(index, 0) + 1
    return hist


@pytest.mark.parametrize("seed", range(5))
def test_percentiles_within_three_percent_of_exact(seed):
    rng = random.Random(seed)
    # Latencies spread like real ones: log-normal around 20 ms, a long tail.
    values = [rng.lognormvariate(-4, 1.0) for _ in range(20_000)]
    estimated = percentiles(histogram_of(values), QUANTILES)
    for q in QUANTILES:
        truth = exact(values, q)
        assert abs(estimated[q] - truth) / truth < 0.03, (q, estimated[q], truth)


def test_merged_histograms_equal_the_histogram_of_all_values():
    rng = random.Random(7)
    first = [rng.uniform(0.001, 0.05) for _ in range(3000)]
    second = [rng.uniform(0.2, 0.9) for _ in range(1000)]
    merged = merge([{str(i): n for i, n in histogram_of(first).items()},
                    {str(i): n for i, n in histogram_of(second).items()}])
    assert merged == histogram_of(first + second)
    both = percentiles(merged, QUANTILES)
    # 3 in 4 requests are the fast ones: the median is fast, the p95 and p99 slow.
    assert both[0.5] < 0.06
    assert 0.2 < both[0.95] < 0.95
    assert abs(both[0.99] - exact(first + second, 0.99)) / exact(first + second, 0.99) < 0.03


def test_buckets_cover_the_range_and_clamp_outside_it():
    assert bucket_of(0) == 0
    assert bucket_of(MIN_SECONDS / 10) == 0
    assert bucket_of(10_000) == BUCKETS - 1
    for seconds in (0.0004, 0.003, 0.25, 7.0):
        middle = bucket_middle(bucket_of(seconds))
        assert abs(middle - seconds) / seconds < 0.05
    assert percentiles({}, QUANTILES) == dict.fromkeys(QUANTILES)


@pytest.mark.parametrize(("route", "expected"), [
    ("/api/v1/feed", "feed"),
    ("/api/v1/feed/trending", "feed"),
    ("/api/v1/posts/{post_id}/comments", "posts"),
    ("/api/v1/me", "users"),
    ("/api/v1/users/{username}", "users"),
    ("/api/v1/admin/jobs/{job_id}", "admin"),
    ("/api/v1/batch", "other"),
    ("/api/health/ready", "health"),
    ("/api/metrics", "other"),
    ("unmatched", "unmatched"),
])
def test_route_classes(route, expected):
    assert route_class(route) == expected


def test_window_delta_counts_only_what_happened_since():
    window = RequestWindow()
    window.observe("/api/v1/feed", "GET", 200, 0.010)
    before = window.totals()
    window.observe("/api/v1/feed", "GET", 200, 0.010)
    window.observe("/api/v1/feed/public", "GET", 503, 0.500)
    window.observe("/api/v1/posts/{post_id}", "GET", 404, 0.002)
    changes = delta(before, window.totals())
    assert set(changes) == {"feed", "posts"}
    assert changes["feed"]["requests"] == 2
    assert changes["feed"]["errors"] == 1
    assert changes["feed"]["hist"] == {str(bucket_of(0.010)): 1, str(bucket_of(0.5)): 1}
    assert changes["posts"]["errors"] == 0
    assert delta(window.totals(), window.totals()) == {}


def payload(window: RequestWindow, **extra) -> dict:
    return {"http": delta({}, window.totals()), **extra}


def test_aggregate_sums_processes_and_merges_their_histograms():
    first, second = RequestWindow(), RequestWindow()
    latencies = []
    for i in range(300):
        seconds = 0.001 * (i + 1)
        latencies.append(seconds)
        (first if i % 3 else second).observe("/api/v1/feed", "GET", 500 if i < 6 else 200,
                                              seconds)
    second.observe("/api/v1/search", "GET", 200, 0.05)
    pool = {"mean_checked_out": 2.0, "max_checked_out": 5, "capacity": 20}
    points, histograms = aggregate([
        payload(first, cache={"posts": [100, 90]}, pool=pool, rss_bytes=100,
                loop_lag={"max": 0.01, "sum": 0.02, "count": 20}),
        payload(second, cache={"posts": [100, 50], "users": [10, 10]},
                pool={**pool, "mean_checked_out": 4.0, "max_checked_out": 10}, rss_bytes=300,
                loop_lag={"max": 0.05, "sum": 0.06, "count": 20}),
    ], interval_seconds=10)
    values = {(p.name, p.label): p for p in points}
    assert values["http_request_rate_per_second", "feed"].value == 30.0
    assert values["http_request_rate_per_second", "all"].value == 30.1
    assert values["http_request_rate_per_second", "all"].samples == 301
    assert values["http_error_ratio", "feed"].value == 6 / 300
    assert values["http_error_ratio", "search"].value == 0
    assert values["http_error_ratio", "all"].value == 6 / 301
    p95 = values["http_latency_p95_seconds", "feed"].value
    assert abs(p95 - exact(latencies, 0.95)) / exact(latencies, 0.95) < 0.03
    assert histograms["feed"][0] == 300
    assert values["cache_hit_ratio", "posts"].value == 140 / 200
    assert values["cache_hit_ratio", "all"].value == 150 / 210
    assert values["db_pool_utilisation_ratio", "avg"].value == 6 / 40
    assert values["db_pool_utilisation_ratio", "max"].value == 0.5
    assert values["event_loop_lag_seconds", "max"].value == 0.05
    assert values["event_loop_lag_seconds", "avg"].value == pytest.approx(0.08 / 40)
    assert values["process_rss_bytes", "sum"].value == 400
    assert values["web_processes", "all"].value == 2


def test_aggregate_carries_statements_round_trips_and_dependencies():
    first, second = RequestWindow(), RequestWindow()
    for window, repeated in ((first, 1), (second, 3)):
        for i in range(10):
            window.observe("/api/v1/admin/chaos/probe", "GET", 200, 0.01)
            window.observe_statements("/api/v1/admin/chaos/probe", 40 if i < repeated else 2,
                                      repeated=i < repeated)
    points, _ = aggregate([
        payload(first, db={"round_trip_seconds": 0.001, "statements": 300,
                           "statement_seconds": 0.3, "errors": 0},
                dependencies={"cache-redis": True, "ratelimit-redis": True}),
        payload(second, db={"round_trip_seconds": 0.003, "statements": 100,
                            "statement_seconds": 0.5, "errors": 4},
                dependencies={"cache-redis": False}, cache_round_trip_seconds=0.0004),
    ], interval_seconds=10)
    values = {(p.name, p.label): p for p in points}
    assert values["n_plus_one_ratio", "admin"].value == 4 / 20
    assert values["sql_statements_per_request", "admin"].value == (4 * 40 + 16 * 2) / 20
    assert values["db_round_trip_seconds", "max"].value == 0.003
    assert values["db_round_trip_seconds", "avg"].value == pytest.approx(0.002)
    # Only the process whose breaker was closed PINGed its Redis.
    assert values["cache_round_trip_seconds", "max"].value == 0.0004
    assert values["cache_round_trip_seconds", "avg"].samples == 1
    assert values["db_statement_seconds", "avg"].value == pytest.approx(0.8 / 400)
    assert values["db_statement_seconds", "avg"].samples == 400
    assert values["db_error_ratio", "all"].value == 4 / 400
    assert values["dependency_down_ratio", "cache-redis"].value == 0.5
    assert values["dependency_down_ratio", "ratelimit-redis"].value == 0.0
    # Without profiles, no statement series: 0 statements is not "no N+1".
    assert ("n_plus_one_ratio", "feed") not in values


def test_outgoing_calls_per_dependency_from_each_process_delta():
    calls = OutgoingCalls()
    before = calls.snapshot()
    calls.record("varnish", seconds=0.002, failed=False)
    calls.record("varnish", seconds=1.0, failed=True)
    calls.record("varnish", seconds=0.003, failed=False)
    first = outgoing.delta(before, calls.snapshot())
    assert set(first) == {"varnish"} and first["varnish"][0] == 3
    points, _ = aggregate([{"outgoing": first},
                           {"outgoing": {"varnish": [1, 0.005, 0], "smtp": [2, 0.1, 0]}}],
                          interval_seconds=10)
    values = {(p.name, p.label): p for p in points}
    assert values["outgoing_call_seconds", "varnish"].value == pytest.approx(1.01 / 4)
    assert values["outgoing_call_seconds", "varnish"].samples == 4
    assert values["outgoing_failure_ratio", "varnish"].value == 0.25
    assert values["outgoing_failure_ratio", "smtp"].value == 0.0


def test_aggregate_reads_the_p75_of_every_process_s_beacons_and_keeps_their_histograms():
    first, second = RumWindow(), RumWindow()
    lcps = []
    for i in range(200):
        lcp = 500.0 + 20 * i  # 0.5 s to 4.5 s
        lcps.append(lcp / 1000)
        # The first process's beacons are the fast ones: a mean of two p75s would be wrong.
        (first if i < 120 else second).observe(lcp_ms=lcp, inp_ms=40.0 if i % 2 else None)
    second.observe(ttfb_ms=150.0)
    before = first.totals()
    first.observe(lcp_ms=100.0)
    assert rum_delta(before, first.totals()) == {"lcp": {"beacons": 1, "hist": {
        str(bucket_of(0.1)): 1}}}
    points, histograms = aggregate([
        {"http": {}, "rum": rum_delta({}, first.totals())},
        {"http": {}, "rum": rum_delta({}, second.totals())},
    ], interval_seconds=10)
    values = {(p.name, p.label): p for p in points}
    lcp = values["rum_lcp_p75_seconds", "all"]
    lcps.append(0.1)
    assert lcp.samples == 201
    assert abs(lcp.value - exact(lcps, 0.75)) / exact(lcps, 0.75) < 0.03
    assert values["rum_inp_p75_seconds", "all"].value == pytest.approx(0.040, rel=0.03)
    assert values["rum_inp_p75_seconds", "all"].samples == 100
    assert values["rum_ttfb_p75_seconds", "all"].samples == 1
    # Kept beside the route classes' histograms, under keys no route class has, so that the
    # rollups re-merge them into the p75 of the minute's beacons.
    assert histograms["rum:lcp"][0] == 201 and sum(histograms["rum:lcp"][1].values()) == 201
    assert set(histograms) == {"rum:lcp", "rum:inp", "rum:ttfb"}
    assert histogram_series("rum:lcp") == [("all", {"rum_lcp_p75_seconds": 0.75})]
    assert [label for label, _ in histogram_series("feed")] == ["feed", "all"]
    assert SERIES["rum_lcp_p75_seconds"].kind == "percentile"
    # No beacon, no point: a p75 of nothing is not 0.
    points, histograms = aggregate([{"http": {}, "rum": {}}], interval_seconds=10)
    assert not any(p.name.startswith("rum_") for p in points) and histograms == {}


def test_an_idle_interval_has_a_zero_rate_and_no_ratio():
    points, histograms = aggregate([{"http": {}, "cache": {}}], interval_seconds=10)
    names = {(p.name, p.label): p.value for p in points}
    assert names[("http_request_rate_per_second", "all")] == 0
    assert not any(name == "http_error_ratio" for name, _ in names)
    assert histograms == {}


def test_queue_points_name_every_queue():
    points = queue_points([QueueReading("email", 4, 12.5)], ["email", "analytics"])
    assert {(p.name, p.label): p.value for p in points} == {
        ("queue_depth", "email"): 4, ("queue_oldest_age_seconds", "email"): 12.5,
        ("queue_depth", "analytics"): 0, ("queue_oldest_age_seconds", "analytics"): 0}


@pytest.mark.parametrize(("hours_back", "step", "expected"), [
    (1, None, (10.0, 10)),          # 360 raw points fit
    (12, None, (60, 60)),           # 4,320 raw points do not; 720 minutes do
    (24 * 3, None, (3600, 3600)),   # raw is gone past 48 h; 4,320 minutes do not fit
    (1, 15, (10.0, 15)),            # raw, averaged over 15 s steps
    (12, 300, (60, 300)),           # minutes before raw: their percentiles are re-merged
    (24 * 10, 7200, (3600, 7200)),
    (24 * 3, 60, "422"),            # minutes are kept 30 days, but 4,320 points are too many
])
def test_resolution_follows_range_and_step(hours_back, step, expected):
    settings = Settings(database_url="postgresql://unused/db")
    now = datetime.now(UTC)
    start = now - timedelta(hours=hours_back)
    try:
        chosen = choose_resolution(settings, start=start, end=now, step=step, now=now)
    except Unprocessable:
        chosen = "422"
    assert chosen == expected


def test_busiest_clients_undercount_by_at_most_their_share_of_the_counters():
    clients = BusiestClients(capacity=4)
    for n in range(1000):
        clients.count("user:1" if n % 3 == 0 else f"ip:10.0.0.{n % 50}")
    taken = clients.take()
    assert taken["admitted"] == 1000
    # 334 requests of user:1; Misra-Gries undercounts by at most 1000 / (4 + 1).
    assert 334 - 200 <= taken["top"]["user:1"] <= 334
    assert clients.take() == {"admitted": 0, "top": {}}
    points, _ = aggregate([{"clients": {"admitted": 600, "top": {"user:1": 300, "ip:x": 20}}},
                           {"clients": {"admitted": 400, "top": {"user:1": 100}}}],
                          interval_seconds=10)
    shares = {p.label: p for p in points if p.name == "client_request_share"}
    # ip:x's 2 % is nobody's concern: not written.
    assert set(shares) == {"user:1"}
    assert (shares["user:1"].value, shares["user:1"].samples) == (0.4, 1000)
