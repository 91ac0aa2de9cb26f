"""Remediation that verifies itself: what the monitor may do about a detection, when, and how it
knows that it helped.

An action pulls a runtime lever (lifeceo.platform.levers) for a while. It is attempted only for
the detector it answers, outside its cooldown and under its hourly cap; low-risk actions run on
their own, the others wait for an administrator. After it is applied, the detector that fired
must go quiet within the verification window: then, and only then, the attempt is `mitigated`;
otherwise the lever is released again (`undone`) and the incident escalated. Dry-run records the
attempt it would make and pulls nothing."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from lifeceo.platform.monitor.detectors import Detection

# The caps count the last hour (max_per_hour).
HOUR_SECONDS = 3600.0


class Risk(StrEnum):
    LOW = "low"    # automatic: bounded, expiring, harmless if wrong (warm a cache, shed a class)
    HIGH = "high"  # waits for an administrator (recycle a worker, cancel a query)


class Outcome(StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"
    REJECTED = "rejected"
    DRY_RUN = "dry_run"
    VERIFYING = "verifying"
    MITIGATED = "mitigated"
    UNDONE = "undone"
    # The lever refused when it was pulled (a recycle without a supervisor): settled, and still
    # counted by cooldowns and caps, so that a refusing lever is not asked every interval.
    FAILED = "failed"
    # An advisory action an administrator approved: recorded, nothing applied, not verified.
    ACCEPTED = "accepted"


@dataclass(frozen=True)
class Action:
    name: str
    detector: str
    lever: str
    risk: Risk
    # The lever's target and value for a detection (a route class, a queue, a client).
    target: Callable[[Detection], str]
    value: Callable[[Detection], str]
    # How long the lever is held, and how soon the detector must have gone quiet.
    hold_seconds: int
    verify_seconds: float
    cooldown_seconds: float
    max_per_hour: int
    # An advisory action (an index suggestion) changes nothing when approved: it is settled as
    # accepted with this note ({target} and {value} filled in) instead of being verified.
    advisory: str = ""


@dataclass(frozen=True)
class Attempt:
    action: str
    fingerprint: str
    target: str
    value: str
    outcome: Outcome
    proposed_at: float
    applied_at: float | None = None
    settled_at: float | None = None
    note: str = ""


@dataclass
class Policy:
    """Which action answers a detection now, given the attempts made before."""

    actions: Sequence[Action]
    dry_run: bool = False
    history: list[Attempt] = field(default_factory=list)

    def propose(self, detection: Detection, *, now: float) -> Attempt | None:
        """An attempt for `detection`, or None: no action for its detector, one already under way
        for its fingerprint, within the action's cooldown, or past its hourly cap."""
        for action in self.actions:
            if action.detector != detection.detector or not self._allowed(action, detection,
                                                                             now=now):
                continue
            outcome = (Outcome.DRY_RUN if self.dry_run else
                       Outcome.AWAITING_APPROVAL if action.risk is Risk.HIGH else
                       Outcome.VERIFYING)
            attempt = Attempt(action.name, detection.fingerprint, action.target(detection),
                              action.value(detection), outcome, proposed_at=now,
                              applied_at=now if outcome is Outcome.VERIFYING else None)
            self.history.append(attempt)
            return attempt
        return None

    def approve(self, attempt: Attempt, *, now: float) -> Attempt:
        assert attempt.outcome is Outcome.AWAITING_APPROVAL, attempt
        return self._replace(attempt, outcome=Outcome.VERIFYING, applied_at=now)

    def reject(self, attempt: Attempt, *, now: float, note: str = "") -> Attempt:
        assert attempt.outcome is Outcome.AWAITING_APPROVAL, attempt
        return self._replace(attempt, outcome=Outcome.REJECTED, settled_at=now, note=note)

    def fail(self, attempt: Attempt, *, now: float, note: str) -> Attempt:
        """The lever refused when pulled: settled, and it counts against cooldown and cap."""
        assert attempt.outcome is Outcome.VERIFYING, attempt
        return self._replace(attempt, outcome=Outcome.FAILED, settled_at=now, note=note)

    def verify(self, attempt: Attempt, *, still_detected: bool, now: float) -> Attempt:
        """After an evaluation: mitigated once the detector is quiet within the window; undone
        (the caller releases the lever and escalates) once the window passed without it."""
        if attempt.outcome is not Outcome.VERIFYING:
            return attempt
        action = self._action(attempt.action)
        if not still_detected:
            return self._replace(attempt, outcome=Outcome.MITIGATED, settled_at=now)
        if now - attempt.applied_at >= action.verify_seconds:
            return self._replace(attempt, outcome=Outcome.UNDONE, settled_at=now,
                                 note=f"{attempt.fingerprint} still detected "
                                      f"{action.verify_seconds:.0f} s after {action.name}")
        return attempt

    def _allowed(self, action: Action, detection: Detection, *, now: float) -> bool:
        # Under way by any action: two levers at once would not say which one helped.
        if any(attempt.fingerprint == detection.fingerprint
               and attempt.outcome in (Outcome.AWAITING_APPROVAL, Outcome.VERIFYING)
               for attempt in self.history):
            return False
        mine = [attempt for attempt in self.history if attempt.action == action.name]
        if any(attempt.fingerprint == detection.fingerprint
               and now - attempt.proposed_at < action.cooldown_seconds for attempt in mine):
            return False
        last_hour = sum(now - attempt.proposed_at < HOUR_SECONDS for attempt in mine)
        return last_hour < action.max_per_hour

    def _action(self, name: str) -> Action:
        return next(action for action in self.actions if action.name == name)

    def _replace(self, attempt: Attempt, **changes) -> Attempt:
        updated = replace(attempt, **changes)
        self.history[self.history.index(attempt)] = updated
        return updated
