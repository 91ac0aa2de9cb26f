"""Baselines, steps and forecasts on series shaped like the metrics history's (10 s points)."""

import numpy as np

from lifeceo.platform.monitor import baseline, changepoint, forecast

STEP = 10.0


def noisy(level: float, count: int, *, spread: float, seed: int) -> np.ndarray:
    return level + np.random.default_rng(seed).normal(0, spread, count)


def test_an_incident_in_the_window_does_not_move_the_baseline():
    calm = noisy(0.120, 300, spread=0.01, seed=1)
    # A third of the window is an incident at five times the latency.
    incident = noisy(0.600, 100, spread=0.05, seed=2)
    learned = baseline.robust(np.concatenate([calm, incident]), min_samples=30)
    assert abs(learned.median - 0.120) < 0.01
    assert learned.samples == 300 and learned.score(0.600) > 20
    assert abs(learned.score(0.125)) < 1
    mean = float(np.mean(np.concatenate([calm, incident])))
    assert mean > 0.2  # what a mean would have called normal


def test_no_baseline_without_enough_samples_and_no_division_by_a_flat_series():
    assert baseline.robust([1.0] * 29, min_samples=30) is None
    flat = baseline.robust([0.0] * 60, min_samples=30)
    assert flat.scale > 0 and flat.score(1.0) > 1e6
    steady = baseline.robust([200.0] * 60, min_samples=30)
    # A 1 % wobble of a series that never moved is one deviation, not an alarm.
    assert abs(steady.score(202.0)) <= 1.0


def test_a_step_is_found_near_its_onset_and_noise_is_not_a_step():
    before = noisy(0.2, 120, spread=0.02, seed=3)
    after = noisy(0.4, 60, spread=0.02, seed=4)
    step = changepoint.page_hinkley(np.concatenate([before, after]), reference=60)
    assert step is not None and step.direction == "up"
    assert 118 <= step.onset <= 122 and step.detected < 130
    assert 1.8 < step.ratio < 2.2
    assert changepoint.page_hinkley(noisy(0.2, 2000, spread=0.02, seed=5), reference=60) is None
    drop = changepoint.page_hinkley(np.concatenate([noisy(0.95, 90, spread=0.01, seed=6),
                                                    noisy(0.60, 30, spread=0.01, seed=7)]),
                                    reference=60)
    assert drop.direction == "down" and drop.after < 0.65


def test_a_leak_is_forecast_to_reach_its_limit_and_the_prediction_is_judged():
    # RSS growing 2 MB per 10 s sample from 300 MB, with noise; the limit is 500 MB.
    growth = 300 + 2 * np.arange(60) + noisy(0, 60, spread=1.0, seed=8)
    trend = forecast.holt(growth, step_seconds=STEP)
    assert 1.6 < trend.slope < 2.4
    eta = forecast.crossing(trend, limit=500, horizon_seconds=3600)
    # 420 MB now: 80 MB to go at 2 MB per 10 s is about 400 s.
    assert 300 <= eta.seconds <= 500 and eta.earliest <= eta.seconds <= eta.latest
    made_at = 1_000_000.0
    later = [(made_at + STEP * (i + 1), growth[-1] + 2 * (i + 1)) for i in range(60)]
    assert forecast.judge(eta, made_at=made_at, limit=500, rising=True, points=later[:10],
                          now=made_at + 100) == "pending"
    assert forecast.judge(eta, made_at=made_at, limit=500, rising=True, points=later,
                          now=later[-1][0]) == "hit"
    flat = [(ts, 420.0) for ts, _ in later]
    assert forecast.judge(eta, made_at=made_at, limit=500, rising=True, points=flat,
                          now=made_at + eta.latest + 1) == "miss"


def test_no_forecast_of_a_flat_series_or_of_too_few_points():
    assert forecast.holt([1, 2, 3], step_seconds=STEP) is None
    steady = forecast.holt(noisy(300, 60, spread=1.0, seed=9), step_seconds=STEP)
    assert forecast.crossing(steady, limit=500, horizon_seconds=3600) is None
    # A queue draining 5 jobs per sample, at 255 after 30 samples: empty 51 samples later.
    draining = forecast.holt(400 - 5 * np.arange(30, dtype=float), step_seconds=STEP)
    empty = forecast.crossing(draining, limit=0, horizon_seconds=7200)
    assert 480 <= empty.seconds <= 540
