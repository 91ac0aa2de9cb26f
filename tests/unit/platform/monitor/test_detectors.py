"""Each detector on recorded shapes of series: quiet on normal traffic, on too little traffic
and on one bad interval; firing on the incident, with its evidence."""

from datetime import UTC, datetime, timedelta

import numpy as np

from lifeceo.platform.monitor import detectors
from lifeceo.platform.monitor.signals import Point, Signals
from lifeceo.settings import Settings

NOW = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)
STEP = 10.0
BY_NAME = {detector.name: detector for detector in detectors.from_settings(Settings())}


def series(values, *, samples=100, end=NOW) -> list[Point]:
    count = len(values)
    return [Point(end - timedelta(seconds=STEP * (count - 1 - i)), float(value),
                  samples if np.isscalar(samples) else int(samples[i]))
            for i, value in enumerate(values)]


def signals(**named) -> Signals:
    return Signals(now=NOW, step_seconds=STEP, series={
        name: labels for name, labels in named.items()})


def noise(level, count, spread, seed):
    return np.maximum(level + np.random.default_rng(seed).normal(0, spread, count), 0)


def test_slow_api_response_needs_both_windows_burning():
    slow = BY_NAME["slow_api_response"]
    calm = noise(0.08, 30, 0.01, 1)
    assert slow.evaluate(signals(http_latency_p95_seconds={"feed": series(calm)})) == []
    # One slow interval: 1 bad of 30 is a burn of 3.3 long, 16.7 short; the long window holds.
    spike = calm.copy()
    spike[-1] = 0.9
    assert slow.evaluate(signals(http_latency_p95_seconds={"feed": series(spike)})) == []
    incident = np.concatenate([noise(0.08, 24, 0.01, 2), noise(0.6, 6, 0.05, 3)])
    [found] = slow.evaluate(signals(http_latency_p95_seconds={"feed": series(incident)}))
    assert (found.detector, found.label, found.fingerprint) == (
        "slow_api_response", "feed", "slow_api_response:feed")
    assert found.evidence["burn_rates"][0] == 100.0 and len(found.evidence["points"]) == 30
    # The step in the p95 series: where it started (within a minute before the first slow
    # point: noise blurs the onset), and the medians either side.
    step = found.evidence["step"]
    onsets = [ts for ts, _, _ in found.evidence["points"][19:25]]
    assert step["onset"] in onsets and step["direction"] == "up"
    assert abs(step["before"] - 0.08) < 0.01 and abs(step["after"] - 0.6) < 0.1
    # The same shape with 2 requests per interval is not evidence of anything.
    assert slow.evaluate(signals(http_latency_p95_seconds={
        "feed": series(incident, samples=2)})) == []


def test_error_burst_weighs_each_point_by_its_requests():
    burst = BY_NAME["error_burst"]
    quiet = series(np.zeros(30), samples=50)
    assert burst.evaluate(signals(http_error_ratio={"all": quiet})) == []
    # 5 % errors over the last minute, 1 % before: both windows above 14.4 x 0.1 %.
    failing = series(np.r_[np.full(24, 0.01), np.full(6, 0.05)], samples=50)
    [found] = burst.evaluate(signals(http_error_ratio={"all": failing}))
    assert found.severity == "critical" and found.evidence["burn_rates"][0] == 50.0
    # Half the requests failing, but 3 requests in five minutes: no verdict.
    few = series(np.full(30, 0.5), samples=np.r_[np.zeros(27), np.ones(3)])
    assert burst.evaluate(signals(http_error_ratio={"all": few})) == []


def test_low_cache_hit_rate_is_relative_to_the_namespace_and_needs_lookups():
    low = BY_NAME["low_cache_hit_rate"]
    # The feed namespace normally hits 95 %; search only 40 %, which is its normal.
    feed_normal = noise(0.95, 360, 0.01, 4)
    search = series(noise(0.40, 366, 0.02, 5))
    cold = series(np.r_[feed_normal, np.full(6, 0.30)])
    found = low.evaluate(signals(cache_hit_ratio={"feed": cold, "search": search}))
    assert [detection.label for detection in found] == ["feed"]
    assert abs(found[0].evidence["baseline"]["median"] - 0.95) < 0.01
    # The same fall with 20 lookups an interval (120 in the window) is not enough traffic.
    quiet = series(np.r_[feed_normal, np.full(6, 0.30)], samples=20)
    assert low.evaluate(signals(cache_hit_ratio={"feed": quiet})) == []


def test_queue_backlog_only_when_old_and_not_draining_in_time():
    backlog = BY_NAME["queue_backlog"]
    ages = series(np.linspace(60, 400, 30))
    growing = series(np.linspace(100, 400, 30))
    [found] = backlog.evaluate(signals(queue_oldest_age_seconds={"email": ages},
                                       queue_depth={"email": growing}))
    assert found.label == "email" and found.evidence["slope_per_second"] > 0
    # Old jobs, but draining 20 a sample from 400: empty in about 3 minutes.
    draining = series(np.linspace(1000, 420, 30))
    assert backlog.evaluate(signals(queue_oldest_age_seconds={"email": ages},
                                    queue_depth={"email": draining})) == []
    young = series(np.full(30, 5.0))
    assert backlog.evaluate(signals(queue_oldest_age_seconds={"email": young},
                                    queue_depth={"email": growing})) == []


def test_memory_usage_high_forecasts_a_leak_and_ignores_a_high_steady_process():
    memory = BY_NAME["memory_usage_high"]
    mib = 1024 * 1024
    leak = series((600 + 5 * np.arange(30) + noise(0, 30, 1, 6)) * mib)
    [found] = memory.evaluate(signals(process_rss_bytes={"max": leak}))
    # 745 MiB now, +30 MiB a minute, 1,024 MiB limit: about 9 minutes.
    assert 6 * 60 <= found.evidence["forecast"]["seconds"] <= 12 * 60
    steady = series(noise(900, 30, 2, 7) * mib)
    assert memory.evaluate(signals(process_rss_bytes={"max": steady})) == []


def test_event_loop_blocked_needs_more_than_one_pause():
    blocked = BY_NAME["event_loop_blocked"]
    one_pause = series(np.r_[np.full(5, 0.01), 0.8])
    assert blocked.evaluate(signals(event_loop_lag_seconds={"max": one_pause})) == []
    [found] = blocked.evaluate(signals(event_loop_lag_seconds={
        "max": series(np.r_[np.full(3, 0.01), 0.8, 0.02, 1.2])}))
    assert "1.20 s" in found.summary


def test_n_plus_one_needs_repeated_requests_and_a_share_of_the_class():
    n_plus_one = BY_NAME["n_plus_one"]
    statements = {"admin": series(np.full(6, 3.0), samples=40)}
    # Two requests in a minute broke the rule: a report's loop, not the class's problem.
    rare = series(np.r_[np.zeros(5), 2 / 40], samples=40)
    assert n_plus_one.evaluate(signals(n_plus_one_ratio={"admin": rare},
                                       sql_statements_per_request=statements)) == []
    # 12 of 240 requests (5 %) repeated a statement.
    repeating = series(np.full(6, 2 / 40), samples=40)
    [found] = n_plus_one.evaluate(signals(n_plus_one_ratio={"admin": repeating},
                                          sql_statements_per_request=statements))
    assert (found.fingerprint, found.evidence["statements_per_request"]) == (
        "n_plus_one:admin", 3.0)
    assert "12 of 240 admin requests" in found.summary
    # 12 of 24,000 feed requests: 0.05 %, under the 1 % share.
    busy = series(np.full(6, 2 / 4000), samples=4000)
    assert n_plus_one.evaluate(signals(n_plus_one_ratio={"feed": busy})) == []


def test_database_slow_against_its_own_normal_and_not_while_the_loop_lags():
    slow = BY_NAME["database_connection_slow"]
    normal = noise(0.002, 360, 0.0003, 6)
    # 40 ms statements in the last two intervals: over 25 ms and 3 times the 2 ms normal.
    incident = series(np.r_[normal, 0.002, 0.002, 0.002, 0.002, 0.04, 0.04], samples=500)
    [found] = slow.evaluate(signals(db_statement_seconds={"avg": incident}))
    assert (found.fingerprint, found.severity) == ("database_connection_slow:statements",
                                                   "warning")
    assert abs(found.evidence["baseline"]["median"] - 0.002) < 0.0005
    # One slow interval is not enough.
    once = series(np.r_[normal, np.full(5, 0.002), 0.04], samples=500)
    assert slow.evaluate(signals(db_statement_seconds={"avg": once})) == []
    # A server whose statements take 30 ms normally (a remote database): 40 ms is its normal.
    remote = series(np.r_[noise(0.03, 360, 0.003, 7), np.full(6, 0.04)], samples=500)
    assert slow.evaluate(signals(db_statement_seconds={"avg": remote})) == []
    # Without history yet, the floor alone: a 30 ms round trip twice running is slow.
    trips = series(np.r_[np.full(4, 0.001), 0.03, 0.03], samples=2)
    [found] = slow.evaluate(signals(db_round_trip_seconds={"max": trips}))
    assert found.label == "round_trip" and found.evidence["baseline"] is None
    # Statements 0.4 s long while the loop was blocked 0.8 s in those intervals: the loop's.
    lagging = series(np.r_[normal, np.full(4, 0.002), 0.4, 0.4], samples=500)
    lag = series(np.r_[np.full(4, 0.01), 0.8, 0.8], samples=40)
    assert slow.evaluate(signals(db_statement_seconds={"avg": lagging},
                                 event_loop_lag_seconds={"max": lag})) == []


def test_dependency_down_when_processes_lose_redis_or_statements_fail():
    down = BY_NAME["dependency_down"]
    healthy = series(np.zeros(6), samples=2)
    blip = series(np.r_[np.zeros(5), 0.5], samples=2)
    assert down.evaluate(signals(dependency_down_ratio={"cache-redis": healthy,
                                                        "ratelimit-redis": blip})) == []
    outage = series(np.r_[np.zeros(4), 1.0, 1.0], samples=2)
    [found] = down.evaluate(signals(dependency_down_ratio={"cache-redis": outage}))
    assert (found.fingerprint, found.severity) == ("dependency_down:cache-redis", "critical")
    assert "100% of the web processes" in found.summary
    # 10 % of 3,000 statements failed; 10 % of 30 is too few to say anything.
    failing = series(np.full(6, 0.1), samples=500)
    [found] = down.evaluate(signals(db_error_ratio={"all": failing}))
    assert found.label == "database"
    assert down.evaluate(signals(db_error_ratio={"all": series(np.full(6, 0.1),
                                                                samples=5)})) == []


def test_slow_dependency_when_calls_slow_down_or_fail_but_not_while_the_loop_lags():
    slow = BY_NAME["slow_dependency"]
    purges = noise(0.002, 360, 0.0005, 8)
    # Purges at the 1 s timeout in the last two intervals, all failing.
    timing_out = series(np.r_[purges, np.full(4, 0.002), 1.0, 1.0], samples=20)
    failing = series(np.r_[np.zeros(4), 1.0, 1.0], samples=20)
    [found] = slow.evaluate(signals(outgoing_call_seconds={"varnish": timing_out},
                                    outgoing_failure_ratio={"varnish": failing}))
    assert (found.fingerprint, found.severity) == ("slow_dependency:varnish", "critical")
    assert abs(found.evidence["baseline"]["median"] - 0.002) < 0.0005
    # One slow interval is a blip.
    once = series(np.r_[purges, np.full(5, 0.002), 1.0], samples=20)
    assert slow.evaluate(signals(outgoing_call_seconds={"varnish": once})) == []
    # A webhook receiver that always takes 600 ms: its normal, not an incident.
    webhook = series(np.r_[noise(0.6, 360, 0.05, 9), 0.65, 0.7], samples=3)
    assert slow.evaluate(signals(outgoing_call_seconds={"webhook": webhook})) == []
    # Fast calls, a third of them refused: failing counts as much as slow.
    refused = series(np.r_[np.zeros(4), 0.34, 0.34], samples=30)
    fast = series(np.full(6, 0.003), samples=30)
    [found] = slow.evaluate(signals(outgoing_call_seconds={"smtp": fast},
                                    outgoing_failure_ratio={"smtp": refused}))
    assert (found.label, found.severity) == ("smtp", "warning")
    # Calls late while the loop was blocked 0.8 s in those intervals: the loop's, not Varnish's.
    lag = series(np.r_[np.full(4, 0.01), 0.8, 0.8], samples=40)
    assert slow.evaluate(signals(outgoing_call_seconds={"varnish": timing_out},
                                 outgoing_failure_ratio={"varnish": failing},
                                 event_loop_lag_seconds={"max": lag})) == []


def test_integration_method_mismatch_on_a_new_or_surging_error_group_only():
    mismatch = BY_NAME["integration_method_mismatch"]
    group = "TypeError@community.posts.service:PostService.like"
    # 12 errors in the last minute, none in the hour before: new.
    new = series(np.r_[np.zeros(354), 2, 2, 2, 2, 2, 2], samples=[0] * 354 + [2] * 6)
    [found] = mismatch.evaluate(signals(logged_errors={group: new}))
    assert (found.fingerprint, found.severity) == (f"integration_method_mismatch:{group}",
                                                   "critical")
    assert found.evidence["new"] and found.evidence["errors"] == 12
    # A handful is one user retrying a broken page.
    few = series([1, 1, 1], samples=1)
    assert mismatch.evaluate(signals(logged_errors={group: few})) == []
    # An error that comes and goes all hour (a flaky call): 12 now is its usual rate.
    usual = series(np.full(360, 2), samples=2)
    assert mismatch.evaluate(signals(logged_errors={group: usual})) == []
    # The same error surging to 30 times its hourly rate.
    rare = [Point(NOW - timedelta(minutes=30), 6.0, 6)]
    surge = rare + series(np.full(6, 10), samples=10)
    [found] = mismatch.evaluate(signals(logged_errors={group: surge}))
    assert not found.evidence["new"] and "times its rate" in found.summary


def test_the_cache_s_redis_is_slow_when_slower_than_the_database_it_spares():
    slow = BY_NAME["slow_dependency"]
    database = series(np.full(6, 0.004), samples=2)
    # PINGs at 12 ms for most of the window against a 4 ms SELECT 1: far below the 500 ms
    # floor, yet slower.
    pings = series(np.r_[np.full(2, 0.0003), np.full(4, 0.012)], samples=2)
    [found] = slow.evaluate(signals(cache_round_trip_seconds={"avg": pings},
                                    db_round_trip_seconds={"avg": database}))
    assert found.fingerprint == "slow_dependency:cache-redis"
    assert found.evidence["database_seconds"] == 0.004 and "slower than the database" in (
        found.summary)
    # 3 ms against 2 ms: slower, but below the 5 ms no page waits for.
    quick = series(np.full(6, 0.003), samples=2)
    assert slow.evaluate(signals(cache_round_trip_seconds={"avg": quick},
                                 db_round_trip_seconds={"avg": series(np.full(6, 0.002))})) == []
    # Once: a blip.
    once = series(np.r_[np.full(5, 0.0003), 0.012], samples=2)
    assert slow.evaluate(signals(cache_round_trip_seconds={"avg": once},
                                 db_round_trip_seconds={"avg": database})) == []
    # A loaded machine's single PINGs, 0.7 to 16.5 ms beside 3-7 ms SELECT 1s: noise.
    noisy = series([0.0058, 0.0015, 0.0074, 0.0059, 0.0021, 0.0165, 0.0007, 0.0094, 0.0085],
                   samples=2)
    selects = series([0.004, 0.006, 0.003, 0.007, 0.005, 0.006, 0.004, 0.0066, 0.0066],
                     samples=2)
    assert slow.evaluate(signals(cache_round_trip_seconds={"avg": noisy},
                                 db_round_trip_seconds={"avg": selects})) == []


def test_abusive_client_takes_a_large_share_with_enough_requests_every_interval():
    abusive = BY_NAME["abusive_client"]
    # A script at 40 % of 200 admitted requests per 10 s interval, for a minute.
    scraper = series(np.full(6, 0.4), samples=200)
    [found] = abusive.evaluate(signals(client_request_share={"ip:203.0.113.9": scraper}))
    assert (found.fingerprint, found.evidence["requests"]) == (
        "abusive_client:ip:203.0.113.9", 480)
    # The only reader of a quiet site is all of its traffic, and harmless.
    alone = series(np.full(6, 1.0), samples=10)
    assert abusive.evaluate(signals(client_request_share={"user:7": alone})) == []
    # Busy for one interval only.
    burst = series(np.r_[np.full(5, 0.1), 0.6], samples=400)
    assert abusive.evaluate(signals(client_request_share={"user:7": burst})) == []
