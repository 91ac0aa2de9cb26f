"""Quantiles from two readings of a cumulative histogram, as Prometheus interpolates them."""

from lifeceo.bench.server_side import quantile_ms

INF = float("inf")


def test_the_quantile_of_the_requests_between_two_readings():
    before = {0.01: 10.0, 0.02: 10.0, 0.05: 10.0, INF: 10.0}
    # 100 more requests: 50 under 10 ms, 40 between 10 and 20, 10 between 20 and 50.
    after = {0.01: 60.0, 0.02: 100.0, 0.05: 110.0, INF: 110.0}
    assert quantile_ms(before, after, 0.5) == 10.0
    assert quantile_ms(before, after, 0.7) == 15.0
    assert quantile_ms(before, after, 0.95) == 35.0


def test_beyond_the_last_bound_is_that_bound_and_nothing_is_none():
    assert quantile_ms({}, {0.1: 0.0, INF: 4.0}, 0.95) == 100.0
    assert quantile_ms({0.1: 5.0, INF: 5.0}, {0.1: 5.0, INF: 5.0}, 0.95) is None
    assert quantile_ms(None, {INF: 1.0}, 0.95) is None
