"""Incidents over a sequence of detections: one per fingerprint while unresolved, resolved after
a quiet period, reopened within the cooldown, a new one after it."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from lifeceo.platform.monitor.detectors import Detection
from lifeceo.platform.monitor.incidents import (
    MITIGATED,
    OPEN,
    RESOLVED,
    InvalidTransition,
    Known,
    check_transition,
    plan,
)

T0 = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)
RESOLVE_AFTER = timedelta(seconds=120)
COOLDOWN = timedelta(seconds=300)
BURST = Detection("error_burst", "feed", "warning", "5xx on feed")


class Incidents:
    """The state the database would hold, applied from each plan."""

    def __init__(self) -> None:
        self.rows: dict[int, Known] = {}
        self.opened = 0

    def step(self, detections: list[Detection], at: datetime):
        unresolved = {k.fingerprint: k for k in self.rows.values() if k.state != RESOLVED}
        resolved = {k.fingerprint: k for k in sorted(self.rows.values(), key=lambda k: k.id)
                    if k.state == RESOLVED and at - k.resolved_at < COOLDOWN}
        decided = plan(detections, unresolved=unresolved, recently_resolved=resolved, now=at,
                       resolve_after=RESOLVE_AFTER, cooldown=COOLDOWN)
        for detection in decided.opened:
            self.opened += 1
            self.rows[self.opened] = Known(self.opened, detection.fingerprint, OPEN,
                                           detection.severity, at)
        for known, _, graver in decided.redetected:
            self.rows[known.id] = replace(known, last_detected_at=at,
                                          severity=graver or known.severity)
        for known, _ in decided.reopened:
            self.rows[known.id] = replace(known, state=OPEN, last_detected_at=at,
                                          resolved_at=None)
        for known in decided.resolved:
            self.rows[known.id] = replace(known, state=RESOLVED, resolved_at=at)
        return decided


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_detection_seen_every_evaluation_is_one_incident():
    incidents = Incidents()
    for tick in range(10):
        incidents.step([BURST, BURST], at(15 * tick))
    assert incidents.opened == 1
    [row] = incidents.rows.values()
    assert (row.state, row.last_detected_at) == (OPEN, at(135))


def test_it_resolves_only_after_the_quiet_period():
    incidents = Incidents()
    incidents.step([BURST], at(0))
    assert incidents.step([], at(105)).resolved == []
    [resolved] = incidents.step([], at(120)).resolved
    assert resolved.id == 1
    assert incidents.rows[1].state == RESOLVED


def test_within_the_cooldown_it_reopens_after_it_a_new_incident_opens():
    incidents = Incidents()
    incidents.step([BURST], at(0))
    incidents.step([], at(120))
    decided = incidents.step([BURST], at(200))
    assert [known.id for known, _ in decided.reopened] == [1]
    assert decided.opened == []
    assert incidents.rows[1].state == OPEN
    incidents.step([], at(320))
    assert incidents.rows[1].state == RESOLVED
    # 300 s after the second resolution: a new incident.
    decided = incidents.step([BURST], at(620))
    assert len(decided.opened) == 1
    assert incidents.opened == 2


def test_fingerprints_are_independent_and_severity_only_rises():
    incidents = Incidents()
    slow = Detection("slow_api_response", "feed", "warning", "slow feed")
    incidents.step([BURST, slow], at(0))
    decided = incidents.step([replace(BURST, severity="critical"), slow], at(15))
    graver = {known.fingerprint: severity for known, _, severity in decided.redetected}
    assert graver == {"error_burst:feed": "critical", "slow_api_response:feed": None}
    decided = incidents.step([BURST], at(30))
    assert decided.redetected[0][2] is None
    assert incidents.rows[1].severity == "critical"
    incidents.step([BURST], at(135))
    # The slow feed was last seen at 15 s; the burst keeps its own incident open.
    assert {row.fingerprint: row.state for row in incidents.rows.values()} == {
        "error_burst:feed": OPEN, "slow_api_response:feed": RESOLVED}


@pytest.mark.parametrize(("state", "to"), [(OPEN, MITIGATED), (OPEN, RESOLVED),
                                          (MITIGATED, RESOLVED), (MITIGATED, OPEN),
                                          (RESOLVED, OPEN)])
def test_allowed_transitions(state, to):
    check_transition(state, to)


@pytest.mark.parametrize(("state", "to"), [(RESOLVED, MITIGATED), (OPEN, OPEN),
                                          (RESOLVED, RESOLVED)])
def test_refused_transitions(state, to):
    with pytest.raises(InvalidTransition):
        check_transition(state, to)
