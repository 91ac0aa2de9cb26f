"""One evaluation's remediation, by the leader after the incident plan and in its transaction:
the attempts under way verified against this evaluation's detections, new ones proposed for the
unresolved incidents, levers pulled or released through the board the app gave the monitor, and
every step on the incident's timeline. The policy's history is read from monitor_actions, so
that cooldowns and hourly caps hold across a change of leader."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.platform.monitor import actions as catalogue
from lifeceo.platform.monitor import (
    flag_rollback,
    incidents,
    notify,
    repository,
    statement_actions,
)
from lifeceo.platform.monitor.actions import MONITOR_ACTOR, Levers
from lifeceo.platform.monitor.detectors import Detection
from lifeceo.platform.monitor.incidents import MITIGATED, OPEN, Known
from lifeceo.platform.monitor.models import MonitorAction
from lifeceo.platform.monitor.notify import Notice
from lifeceo.platform.monitor.remediation import HOUR_SECONDS, Action, Attempt, Outcome, Policy
from lifeceo.platform.observability import metrics
from lifeceo.settings import Settings

log = structlog.get_logger(__name__)
UNSETTLED = (Outcome.AWAITING_APPROVAL.value, Outcome.VERIFYING.value)


@dataclass
class Acted:
    # Action ids by the outcome this evaluation gave them.
    outcomes: dict[str, list[int]] = field(default_factory=dict)
    # What to tell people (lifeceo.platform.monitor.notify), in the evaluation's transaction.
    notices: list[Notice] = field(default_factory=list)

    def add(self, row: MonitorAction) -> None:
        self.outcomes.setdefault(row.outcome, []).append(row.id)


def attempt_of(row: MonitorAction) -> Attempt:
    return Attempt(row.action, row.fingerprint, row.target, row.value, Outcome(row.outcome),
                   proposed_at=row.proposed_at.timestamp(),
                   applied_at=row.applied_at.timestamp() if row.applied_at else None,
                   settled_at=row.settled_at.timestamp() if row.settled_at else None,
                   note=row.note)


def moment(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


async def remediate(session: AsyncSession, *, settings: Settings, actions: list[Action],
                    levers: Levers, detections: list[Detection], now: datetime) -> Acted:
    acted = Acted()
    horizon = max([HOUR_SECONDS, *(action.cooldown_seconds for action in actions)])
    rows = await repository.action_history(session, since=now - timedelta(seconds=horizon),
                                           unsettled=UNSETTLED)
    policy = Policy(actions, dry_run=settings.monitor_dry_run,
                    history=[attempt_of(row) for row in rows])
    unresolved = await repository.unresolved(session)
    detected = {detection.fingerprint for detection in detections}
    at = now.timestamp()
    by_name = {action.name: action for action in actions}
    for row, attempt in zip(rows, list(policy.history), strict=True):
        known = unresolved.get(row.fingerprint)
        if attempt.outcome is Outcome.AWAITING_APPROVAL and known is None:
            settled = policy.reject(attempt, now=at, note="resolved before it was approved")
            await _settle(session, row, settled, acted, actor=MONITOR_ACTOR)
        elif attempt.outcome is Outcome.VERIFYING and row.action in by_name:
            settled = policy.verify(attempt, still_detected=row.fingerprint in detected, now=at)
            if settled.outcome is Outcome.MITIGATED:
                await _settle(session, row, settled, acted)
                if await _mitigated(session, row, known, now=now):
                    acted.notices.append(Notice(row.incident_id, notify.MITIGATED, {
                        "action": row.action, "target": row.target}))
            elif settled.outcome is Outcome.UNDONE:
                await _undo(levers, row)
                await _settle(session, row, settled, acted)
                await _escalate(session, row, known, settled, now=now)
                acted.notices.append(Notice(row.incident_id, notify.ESCALATED, {
                    "action": row.action, "target": row.target, "outcome": row.outcome,
                    "note": settled.note}))
    if not settings.monitor_actions_enabled:
        return acted
    seen: set[str] = set()
    for detection in detections:
        if detection.fingerprint in seen or detection.fingerprint not in unresolved:
            continue
        seen.add(detection.fingerprint)
        detection = await flag_rollback.with_suspect(
            session, detection, opened_at=unresolved[detection.fingerprint].opened_at,
            within=timedelta(seconds=settings.monitor_flag_change_window_seconds))
        detection = await statement_actions.with_suggestion(session, detection,
                                                            unresolved[detection.fingerprint])
        fitting = catalogue.applicable(actions, detection, levers)
        # The applicable actions only, over the one history: the next applicable one is tried
        # once an earlier one is cooling down.
        attempt = Policy(fitting, dry_run=policy.dry_run,
                         history=policy.history).propose(detection, now=at)
        if attempt is not None:
            await _propose(session, policy, attempt, by_name[attempt.action], levers,
                           incident=unresolved[detection.fingerprint], acted=acted, now=now)
    return acted


async def _propose(session: AsyncSession, policy: Policy, attempt: Attempt, action: Action,
                   levers: Levers, *, incident: Known, acted: Acted, now: datetime) -> None:
    if attempt.outcome is Outcome.VERIFYING:
        try:
            await levers.pull(action.lever, target=attempt.target, value=attempt.value,
                              seconds=action.hold_seconds, actor=MONITOR_ACTOR)
        except Exception as exc:  # noqa: BLE001 - a refusing lever is recorded, not fatal
            attempt = policy.fail(attempt, now=now.timestamp(),
                                  note=str(exc) or type(exc).__name__)
    row = await repository.add_action(
        session, incident_id=incident.id, action=attempt.action,
        fingerprint=attempt.fingerprint, lever=action.lever, target=attempt.target,
        value=attempt.value, outcome=attempt.outcome.value, proposed_at=now,
        applied_at=moment(attempt.applied_at) if attempt.outcome is Outcome.VERIFYING else None,
        settled_at=moment(attempt.settled_at), actor=MONITOR_ACTOR, note=attempt.note)
    await repository.add_timeline(session, incident.id, at=now, kind="action",
                                  detail=timeline_detail(row))
    acted.add(row)
    metrics.monitor_actions.labels(row.action, row.outcome).inc()
    if row.outcome == Outcome.AWAITING_APPROVAL:
        acted.notices.append(Notice(incident.id, notify.AWAITING_APPROVAL, {
            "action_id": row.id, "action": row.action, "lever": row.lever,
            "target": row.target, "value": row.value}))
    log.warning("monitor action", action=row.action, outcome=row.outcome,
                fingerprint=row.fingerprint, lever=row.lever, target=row.target)


def timeline_detail(row: MonitorAction) -> dict:
    return {"action_id": row.id, "action": row.action, "lever": row.lever,
            "target": row.target, "value": row.value, "outcome": row.outcome,
            "actor": row.actor, **({"note": row.note} if row.note else {})}


async def decide(session: AsyncSession, row: MonitorAction, *, at: datetime,
                 **values: Any) -> None:
    """A decision on an action (the monitor's or an administrator's): its new `values` on the
    row, an entry on its incident's timeline at `at`, and its outcome counted."""
    await repository.update_action(session, row.id, **values)
    for name, value in values.items():
        setattr(row, name, value)
    await repository.add_timeline(session, row.incident_id, at=at, kind="action",
                                  detail=timeline_detail(row))
    metrics.monitor_actions.labels(row.action, row.outcome).inc()


async def _settle(session: AsyncSession, row: MonitorAction, settled: Attempt, acted: Acted,
                  *, actor: str | None = None) -> None:
    settled_at = moment(settled.settled_at)
    await decide(session, row, at=settled_at, outcome=settled.outcome.value,
                 settled_at=settled_at, note=settled.note, **({"actor": actor} if actor else {}))
    acted.add(row)


async def _mitigated(session: AsyncSession, row: MonitorAction, known: Known | None, *,
                     now: datetime) -> bool:
    """Whether the incident became mitigated."""
    # A resolved incident stays resolved; the attempt alone records what helped.
    if known is None or known.state != OPEN:
        return False
    incidents.check_transition(known.state, MITIGATED)
    await repository.update_incident(session, known.id, state=MITIGATED, mitigated_at=now)
    await repository.add_timeline(session, known.id, at=now, kind="state", detail={
        "from": OPEN, "to": MITIGATED, "reason": f"{row.action} verified: "
                                                  f"{row.fingerprint} quiet"})
    return True


async def _undo(levers: Levers, row: MonitorAction) -> None:
    try:
        await levers.undo(row.lever, target=row.target, actor=MONITOR_ACTOR)
    except Exception as exc:  # noqa: BLE001 - it expires by itself after its hold
        log.warning("monitor action not released; it expires by itself", action=row.action,
                    lever=row.lever, target=row.target, error=str(exc) or type(exc).__name__)


async def _escalate(session: AsyncSession, row: MonitorAction, known: Known | None,
                    settled: Attempt, *, now: datetime) -> None:
    log.warning("monitor action did not help", action=row.action,
                fingerprint=row.fingerprint, note=settled.note)
    if known is None:
        return
    severity = incidents.graver(known.severity, "critical")
    if severity != known.severity:
        await repository.update_incident(session, known.id, severity=severity)
    await repository.add_timeline(session, known.id, at=now, kind="severity", detail={
        "from": known.severity, "to": severity,
        "reason": f"{row.action} did not help and was undone"})
