"""What an evaluation's detections do to the incidents, decided without the database.

The original monitor appended an anomaly per pattern every 30 s, without bound (REFERENCE.md);
here a fingerprint has one incident while it is unresolved, re-detections count on it, it
resolves once its detector has been quiet for a while, and a fingerprint that comes back within
the cooldown reopens its last incident instead of opening another."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from lifeceo.platform.monitor.detectors import Detection

OPEN, MITIGATED, RESOLVED = "open", "mitigated", "resolved"
STATES = (OPEN, MITIGATED, RESOLVED)
# Mitigated goes back to open when an action turns out not to help (and is undone); a resolved
# incident is reopened only by its own fingerprint within the cooldown.
TRANSITIONS = {OPEN: {MITIGATED, RESOLVED}, MITIGATED: {OPEN, RESOLVED}, RESOLVED: {OPEN}}
SEVERITIES = ("info", "warning", "critical")


class InvalidTransition(ValueError):
    pass


def check_transition(state: str, to: str) -> None:
    if to not in TRANSITIONS[state]:
        raise InvalidTransition(f"an incident cannot go from {state} to {to}")


def graver(severity: str, other: str) -> str:
    return max(severity, other, key=SEVERITIES.index)


@dataclass(frozen=True, slots=True)
class Known:
    """An incident as the plan needs it: unresolved ones, and the last resolved one of each
    fingerprint within the cooldown."""

    id: int
    fingerprint: str
    state: str
    severity: str
    last_detected_at: datetime
    resolved_at: datetime | None = None
    opened_at: datetime | None = None


@dataclass
class Plan:
    opened: list[Detection] = field(default_factory=list)
    # (incident, the detection seen again, its severity if graver than before, else None)
    redetected: list[tuple[Known, Detection, str | None]] = field(default_factory=list)
    reopened: list[tuple[Known, Detection]] = field(default_factory=list)
    resolved: list[Known] = field(default_factory=list)


def plan(detections: Iterable[Detection], *, unresolved: Mapping[str, Known],
         recently_resolved: Mapping[str, Known], now: datetime, resolve_after: timedelta,
         cooldown: timedelta) -> Plan:
    """`unresolved` and `recently_resolved` are keyed by fingerprint; an unresolved incident
    whose fingerprint is absent from `detections` is quiet."""
    decided = Plan()
    seen: set[str] = set()
    for detection in detections:
        fingerprint = detection.fingerprint
        if fingerprint in seen:
            continue  # one detector reporting the same label twice is still one problem
        seen.add(fingerprint)
        known = unresolved.get(fingerprint)
        if known is not None:
            severity = graver(known.severity, detection.severity)
            decided.redetected.append(
                (known, detection, severity if severity != known.severity else None))
            continue
        resolved = recently_resolved.get(fingerprint)
        if (resolved is not None and resolved.resolved_at is not None
                and now - resolved.resolved_at < cooldown):
            decided.reopened.append((resolved, detection))
        else:
            decided.opened.append(detection)
    for fingerprint, known in unresolved.items():
        if fingerprint not in seen and now - known.last_detected_at >= resolve_after:
            decided.resolved.append(known)
    return decided
