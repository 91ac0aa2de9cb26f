"""client_performance_regression on recorded shapes of the RUM series: a regression against
the site's own normal is found; thin traffic, a site that was always slow, a rise that stays
"good" and a recovered one are not."""

import numpy as np
from tests.unit.platform.monitor.test_detectors import noise, series, signals

from lifeceo.platform.monitor import detectors
from lifeceo.settings import Settings

REGRESSION = next(detector for detector in detectors.from_settings(Settings())
                  if detector.name == "client_performance_regression")
LCP, INP = "rum_lcp_p75_seconds", "rum_inp_p75_seconds"


def lcp(values, **kwargs):
    return signals(**{LCP: {"all": series(values, **kwargs)}})


def test_a_regression_past_good_and_past_its_normal_is_found_with_its_step():
    normal = noise(1.8, 360, 0.1, 11)
    regressed = np.r_[normal, noise(3.4, 6, 0.1, 12)]
    [found] = REGRESSION.evaluate(lcp(regressed, samples=20))
    assert (found.fingerprint, found.severity) == ("client_performance_regression:lcp",
                                                   "warning")
    assert found.evidence["beacons"] == 120 and abs(found.evidence["p75"] - 3.4) < 0.1
    assert abs(found.evidence["baseline"]["median"] - 1.8) < 0.05
    # 2.5 s ("good"), 1.25 x 1.8 s, or the baseline's band: the highest.
    assert found.evidence["bound"] == max(2.5, 1.25 * found.evidence["baseline"]["median"])
    assert len(found.evidence["points"]) == 366
    step = found.evidence["step"]
    assert step["direction"] == "up" and abs(step["after"] - 3.4) < 0.2
    # Within a minute before the first slow point (noise blurs the onset).
    onsets = [ts for ts, _, _ in found.evidence["points"][-12:]]
    assert step["onset"] in onsets


def test_too_few_beacons_say_nothing():
    regressed = np.r_[noise(1.8, 360, 0.1, 13), noise(3.4, 6, 0.1, 14)]
    # 8 beacons an interval: 48 in the window, below the 50 a p75 needs.
    assert REGRESSION.evaluate(lcp(regressed, samples=8)) == []
    # Nor without a normal to compare with: a fresh install's first slow minute.
    assert REGRESSION.evaluate(lcp(noise(3.4, 12, 0.1, 15), samples=20)) == []


def test_a_site_that_was_always_slow_has_that_as_its_normal():
    always = noise(4.0, 366, 0.15, 16)
    assert REGRESSION.evaluate(lcp(always, samples=20)) == []
    # Slower than usual, but within the quarter the factor allows.
    assert REGRESSION.evaluate(lcp(np.r_[always[:360], np.full(6, 4.6)], samples=20)) == []


def test_a_recovered_regression_is_quiet():
    normal = noise(1.8, 300, 0.1, 17)
    # Ten minutes of 3.4 s ended two minutes ago; the window is back to normal.
    shape = np.r_[normal, np.full(54, 3.4), noise(1.8, 12, 0.1, 18)]
    assert REGRESSION.evaluate(lcp(shape, samples=20)) == []


def test_inp_is_judged_against_its_own_threshold():
    normal = noise(0.08, 360, 0.005, 19)
    # Nearly twice as slow, but still "good" (under 200 ms): not an incident.
    still_good = np.r_[normal, np.full(6, 0.15)]
    assert REGRESSION.evaluate(signals(**{INP: {"all": series(still_good, samples=20)}})) == []
    poor = np.r_[normal, np.full(6, 0.35)]
    [found] = REGRESSION.evaluate(signals(**{INP: {"all": series(poor, samples=20)}},
                                          **{LCP: {"all": series(noise(1.8, 366, 0.1, 20),
                                                                 samples=20)}}))
    assert found.label == "inp" and found.evidence["good"] == 0.2
    assert "INP at 350 ms" in found.summary
