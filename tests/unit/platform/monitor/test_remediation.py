"""Which action the monitor attempts, when it waits for approval, and how an attempt ends."""

from lifeceo.platform.monitor.detectors import Detection
from lifeceo.platform.monitor.remediation import Action, Outcome, Policy, Risk

SLOW_FEED = Detection("slow_api_response", "feed", "warning", "p95 of feed above 200 ms")
SLOW_SEARCH = Detection("slow_api_response", "search", "warning", "p95 of search above 200 ms")
LEAK = Detection("memory_usage_high", "max", "warning", "a worker's RSS reaches 1 GiB")


def shed(**overrides) -> Action:
    return Action(**{"name": "shed", "detector": "slow_api_response", "lever": "concurrency",
                     "risk": Risk.LOW, "target": lambda detection: detection.label,
                     "value": lambda detection: "on", "hold_seconds": 600,
                     "verify_seconds": 60, "cooldown_seconds": 900, "max_per_hour": 3,
                     **overrides})


RECYCLE = Action(name="recycle", detector="memory_usage_high", lever="recycle", risk=Risk.HIGH,
                 target=lambda detection: "any", value=lambda detection: "now",
                 hold_seconds=60, verify_seconds=120, cooldown_seconds=3600, max_per_hour=1)


def test_a_low_risk_action_is_applied_and_mitigates_only_when_the_detector_goes_quiet():
    policy = Policy([shed()])
    attempt = policy.propose(SLOW_FEED, now=1000)
    assert (attempt.outcome, attempt.target, attempt.value, attempt.applied_at) == (
        Outcome.VERIFYING, "feed", "on", 1000)
    # Still slow 30 s later: nothing is claimed yet.
    assert policy.verify(attempt, still_detected=True, now=1030).outcome is Outcome.VERIFYING
    mitigated = policy.verify(attempt, still_detected=False, now=1045)
    assert (mitigated.outcome, mitigated.settled_at) == (Outcome.MITIGATED, 1045)
    assert policy.history == [mitigated]


def test_an_action_that_does_not_help_is_undone_when_its_window_passes():
    policy = Policy([shed()])
    attempt = policy.propose(SLOW_FEED, now=1000)
    undone = policy.verify(attempt, still_detected=True, now=1060)
    assert undone.outcome is Outcome.UNDONE and "still detected 60 s after shed" in undone.note
    # Settled attempts stay settled.
    assert policy.verify(undone, still_detected=False, now=1070) is undone


def test_one_attempt_per_fingerprint_at_a_time_cooldowns_and_an_hourly_cap():
    policy = Policy([shed(max_per_hour=2)])
    first = policy.propose(SLOW_FEED, now=0)
    assert policy.propose(SLOW_FEED, now=10) is None  # under way
    policy.verify(first, still_detected=False, now=20)
    assert policy.propose(SLOW_FEED, now=100) is None  # cooling down (900 s)
    assert policy.propose(SLOW_SEARCH, now=100).target == "search"  # another fingerprint
    assert policy.propose(SLOW_FEED, now=1000) is None  # two this hour already
    assert policy.propose(SLOW_FEED, now=3601).outcome is Outcome.VERIFYING


def test_high_risk_actions_wait_for_an_administrator_and_dry_run_pulls_nothing():
    policy = Policy([shed(), RECYCLE])
    waiting = policy.propose(LEAK, now=0)
    assert (waiting.action, waiting.outcome, waiting.applied_at) == (
        "recycle", Outcome.AWAITING_APPROVAL, None)
    assert policy.verify(waiting, still_detected=True, now=500) is waiting
    approved = policy.approve(waiting, now=30)
    assert (approved.outcome, approved.applied_at) == (Outcome.VERIFYING, 30)
    other = Policy([RECYCLE])
    rejected = other.reject(other.propose(LEAK, now=0), now=5, note="not now")
    assert (rejected.outcome, rejected.note, other.history) == (
        Outcome.REJECTED, "not now", [rejected])
    # Rejected is settled: the cooldown still applies to the fingerprint.
    assert other.propose(LEAK, now=60) is None
    dry = Policy([shed()], dry_run=True)
    assert dry.propose(SLOW_FEED, now=0).outcome is Outcome.DRY_RUN
    assert Policy([shed()]).propose(LEAK, now=0) is None  # no action answers it


def test_one_attempt_per_fingerprint_whichever_action_then_the_next_action_after_an_undo():
    stale = shed(name="serve_stale", lever="stale")
    policy = Policy([shed(), stale])
    first = policy.propose(SLOW_FEED, now=0)
    assert first.action == "shed"
    assert policy.propose(SLOW_FEED, now=10) is None  # shed under way: no second lever
    policy.verify(first, still_detected=True, now=60)
    assert policy.propose(SLOW_FEED, now=70).action == "serve_stale"


def test_a_refused_pull_is_settled_as_failed_and_still_cools_down():
    policy = Policy([shed()])
    failed = policy.fail(policy.propose(SLOW_FEED, now=0), now=0, note="refused")
    assert (failed.outcome, failed.settled_at, failed.note) == (Outcome.FAILED, 0, "refused")
    assert policy.propose(SLOW_FEED, now=100) is None
