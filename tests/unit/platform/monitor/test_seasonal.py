"""Same-hour baselines and slow_api_response's anomaly band on recorded shapes: a morning peak
that every day has is that hour's normal; too few days fall back on the previous hour; the band
fires on a step under the SLO, not on noise, a thin interval, a tiny route or a class that is
always slow."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from tests.unit.platform.monitor.test_detectors import BY_NAME, noise, series

from lifeceo.platform.monitor import baseline
from lifeceo.platform.monitor.signals import Point, SameHour, Signals
from lifeceo.settings import Settings

# A Monday at 9:00, the morning peak: p95s of ~80 ms from 8:30 to 9:30 every day, ~20 ms in
# the hour before (the site wakes up at 9).
MONDAY = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
P95 = "http_latency_p95_seconds"
SETTINGS = Settings()
SLOW = BY_NAME["slow_api_response"]


def same_hour(level, spread, *, days, minutes=60, samples=600, seed=0) -> list[Point]:
    """1-minute rollups around 9:00 on each of the `days` days before MONDAY."""
    rng = np.random.default_rng(seed)
    return [Point(MONDAY - timedelta(days=day) + timedelta(minutes=minute - minutes // 2),
                  max(float(level + rng.normal(0, spread)), 0.0), samples)
            for day in range(1, days + 1) for minute in range(minutes)]


def signals(raw, *, history=None, name=P95, label="feed") -> Signals:
    return Signals(now=MONDAY, step_seconds=10.0, series={name: {label: raw}},
                   same_hour=SameHour.of(
                       {name: {label: history or []}}, now=MONDAY,
                       min_days=SETTINGS.monitor_seasonal_min_days,
                       min_points_per_day=SETTINGS.monitor_seasonal_min_points_per_day))


def morning(peak_seconds, *, samples=100) -> list[Point]:
    """An hour of ~20 ms, then the last three intervals at the peak."""
    return series(np.r_[noise(0.020, 363, 0.002, 1), np.full(3, peak_seconds)],
                  samples=samples, end=MONDAY)


def test_a_peak_every_morning_is_normal_at_that_hour_but_not_against_the_previous_hour():
    week = same_hour(0.080, 0.008, days=7)
    assert SLOW.evaluate(signals(morning(0.100), history=week)) == []
    [found] = SLOW.evaluate(signals(morning(0.100)))
    assert found.evidence["baseline"]["kind"] == "rolling"
    # Twice the morning's normal is anomalous at that hour too, and says which normal it used.
    [found] = SLOW.evaluate(signals(morning(0.170), history=week))
    assert found.evidence["baseline"]["kind"] == "same_hour"
    assert found.evidence["baseline"]["days"] == 7
    assert abs(found.evidence["baseline"]["median"] - 0.080) < 0.004
    assert "(same hour;" in found.summary


def test_too_few_days_or_too_few_points_a_day_fall_back_on_the_rolling_window():
    two_days = same_hour(0.080, 0.008, days=2)
    [found] = SLOW.evaluate(signals(morning(0.100), history=two_days))
    assert found.evidence["baseline"]["kind"] == "rolling"
    # Seven days of ten minutes each: under the 30 points a day needs.
    sparse = same_hour(0.080, 0.008, days=7, minutes=10)
    [found] = SLOW.evaluate(signals(morning(0.100), history=sparse))
    assert found.evidence["baseline"]["kind"] == "rolling"


def test_an_odd_day_stays_out_of_the_same_hour_baseline():
    # Five calm mornings and one with an incident (a second at that hour) at the same time.
    days = [[0.110 + 0.001 * (i % 7) for i in range(60)] for _ in range(5)]
    learned = baseline.choose(same_hour=[*days, [1.0] * 60], rolling=[0.02] * 300,
                              min_samples=30)
    assert learned.kind == "same_hour" and learned.days == 6
    assert abs(learned.median - 0.113) < 0.002 and learned.samples == 300
    # Widened to the 10 s points it judges: sqrt(6) times the rollups' spread.
    widened = baseline.choose(same_hour=days, rolling=[], min_samples=30,
                              widen=baseline.widening(rollup_seconds=60, step_seconds=10))
    assert widened.scale == pytest.approx(learned.scale * 6 ** 0.5)
    assert baseline.choose(same_hour=None, rolling=[0.02] * 300, min_samples=30).kind == (
        "rolling")


def test_the_band_fires_on_a_step_under_the_slo_as_a_warning_of_the_same_fingerprint():
    [found] = SLOW.evaluate(signals(morning(0.120)))
    assert (found.fingerprint, found.severity) == ("slow_api_response:feed", "warning")
    assert "anomalous" in found.summary and "120 ms" in found.summary
    assert "normally 20 ms" in found.summary and "SLO 200 ms" in found.summary
    assert found.evidence["anomaly"] is True and "burn_rates" not in found.evidence
    # max(50 ms floor, 2 x 20 ms, the band): the floor.
    assert found.evidence["bound"] == pytest.approx(0.050)


def test_the_band_is_quiet_on_noise_thin_intervals_tiny_routes_and_an_always_slow_class():
    # Noise, and two slow intervals of the last three.
    assert SLOW.evaluate(signals(series(noise(0.020, 366, 0.004, 2), end=MONDAY))) == []
    twice = np.r_[noise(0.020, 363, 0.002, 3), 0.120, 0.020, 0.120]
    assert SLOW.evaluate(signals(series(twice, end=MONDAY))) == []
    # The same step with 2 requests an interval: a p95 of two requests is their worst.
    assert SLOW.evaluate(signals(morning(0.120, samples=2))) == []
    # 3 ms to 9 ms: three times its normal, under the floor.
    tiny = series(np.r_[noise(0.003, 363, 0.0003, 4), np.full(3, 0.009)], end=MONDAY)
    assert SLOW.evaluate(signals(tiny)) == []
    # Always ~150 ms (under the 200 ms SLO): that is this class's normal.
    assert SLOW.evaluate(signals(series(noise(0.150, 366, 0.015, 5), end=MONDAY))) == []


def test_a_class_burning_its_budget_is_one_detection_the_burn_rate_s():
    burning = series(np.r_[noise(0.020, 336, 0.002, 6), np.full(30, 0.400)], end=MONDAY)
    [found] = SLOW.evaluate(signals(burning, label="all"))
    assert found.severity == "critical" and "burn_rates" in found.evidence


def test_every_detector_that_learns_a_baseline_uses_the_same_hour_when_it_has_it():
    statements = series(np.r_[noise(0.002, 360, 0.0003, 7), np.full(6, 0.040)], samples=500,
                        end=MONDAY)
    history = same_hour(0.002, 0.0003, days=4)
    [found] = BY_NAME["database_connection_slow"].evaluate(
        signals(statements, history=history, name="db_statement_seconds", label="avg"))
    assert found.evidence["baseline"]["kind"] == "same_hour"
    lcp = series(np.r_[noise(1.8, 360, 0.1, 8), noise(3.4, 6, 0.1, 9)], samples=20,
                 end=MONDAY)
    [found] = BY_NAME["client_performance_regression"].evaluate(
        signals(lcp, history=same_hour(1.8, 0.1, days=3, samples=200),
                name="rum_lcp_p75_seconds", label="all"))
    assert found.evidence["baseline"]["kind"] == "same_hour"
    ratios = series(np.r_[noise(0.95, 360, 0.01, 10), np.full(6, 0.30)], end=MONDAY)
    [found] = BY_NAME["low_cache_hit_rate"].evaluate(
        signals(ratios, history=same_hour(0.95, 0.01, days=5), name="cache_hit_ratio"))
    assert found.evidence["baseline"]["kind"] == "same_hour"
    calls = series(np.r_[noise(0.05, 360, 0.005, 11), np.full(6, 0.9)], samples=20,
                   end=MONDAY)
    [found] = BY_NAME["slow_dependency"].evaluate(
        signals(calls, history=same_hour(0.05, 0.005, days=3), name="outgoing_call_seconds",
                label="varnish"))
    assert found.evidence["baseline"]["kind"] == "same_hour"
