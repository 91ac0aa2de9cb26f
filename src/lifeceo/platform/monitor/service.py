"""Reading what the monitor found: incidents, detectors, predictions and its status, and
deciding the actions that wait for approval, for the admin API and the command line alike."""

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.errors import Conflict, LifeceoError, NotFound
from lifeceo.platform.monitor import acting, repository
from lifeceo.platform.monitor import actions as action_set
from lifeceo.platform.monitor.actions import Levers
from lifeceo.platform.monitor.detectors import Detector
from lifeceo.platform.monitor.incidents import STATES
from lifeceo.platform.monitor.leader import Monitor
from lifeceo.platform.monitor.models import MonitorAction
from lifeceo.platform.monitor.remediation import Outcome
from lifeceo.platform.monitor.schemas import (
    DetectorReport,
    Incident,
    IncidentDetail,
    MonitorActionReport,
    MonitorStatus,
    Prediction,
    PredictionReport,
    TimelineEntry,
)
from lifeceo.settings import Settings

# Predictions listed at once; the hit rate counts all of them.
MAX_PREDICTIONS = 100
# Actions listed at once: an hour of every action at its cap is a dozen.
MAX_ACTIONS = 100


class MonitorService:
    async def incidents(self, *, session: AsyncSession, state: str | None,
                        before: tuple[datetime, int] | None, limit: int) -> list[Incident]:
        rows = await repository.incidents(session, state=state, before=before, limit=limit)
        return [Incident.model_validate(row) for row in rows]

    async def incident(self, *, session: AsyncSession, incident_id: int) -> IncidentDetail:
        row = await repository.incident(session, incident_id)
        if row is None:
            raise NotFound(f"No incident {incident_id}.")
        timeline = await repository.timeline(session, incident_id)
        predictions = await repository.predictions(session, incident_id=incident_id,
                                                   limit=MAX_PREDICTIONS)
        return IncidentDetail.model_validate({
            **Incident.model_validate(row).model_dump(), "evidence": row.evidence,
            "timeline": [TimelineEntry.model_validate(entry) for entry in timeline],
            "predictions": [Prediction.model_validate(each) for each in predictions]})

    async def detectors(self, *, session: AsyncSession,
                        detectors: list[Detector]) -> list[DetectorReport]:
        """Each detector with the leader's last evaluation of it, whichever process leads."""
        states = {row.name: row for row in await repository.detector_states(session)}
        reports = []
        for detector in detectors:
            state = states.get(detector.name)
            reports.append(DetectorReport(
                name=detector.name, inputs=list(detector.inputs),
                window_seconds=detector.window.total_seconds(),
                **({} if state is None else {
                    "evaluated_at": state.evaluated_at, "leader": state.leader,
                    "duration_ms": state.duration_ms, "detections": state.detections,
                    "baseline": state.baseline, "error": state.error})))
        return reports

    async def predictions(self, *, session: AsyncSession, outcome: str | None,
                          limit: int) -> PredictionReport:
        rows = await repository.predictions(session, outcome=outcome, limit=limit)
        counts = await repository.outcome_counts(session)
        hits, misses = counts.get("hit", 0), counts.get("miss", 0)
        return PredictionReport(items=[Prediction.model_validate(row) for row in rows],
                                judged=hits + misses, hits=hits,
                                pending=counts.get("pending", 0),
                                hit_rate=hits / (hits + misses) if hits + misses else None)

    async def status(self, *, session: AsyncSession, settings: Settings,
                     monitor: Monitor | None, paused: bool) -> MonitorStatus:
        states = await repository.detector_states(session)
        latest = max(states, key=lambda row: row.evaluated_at, default=None)
        counts = await repository.state_counts(session)
        leads = monitor is not None and monitor.is_leader
        return MonitorStatus(
            enabled=settings.monitor_enabled, paused=paused,
            interval_seconds=settings.monitor_interval_seconds,
            leader=latest.leader if latest else None,
            last_evaluation_at=latest.evaluated_at if latest else None,
            answering_process_leads=leads,
            last_evaluation_ms=(round(monitor.last.seconds * 1000, 3)
                                if leads and monitor.last else None),
            detectors=len(monitor.detectors) if monitor else len(states),
            incidents={state: counts.get(state, 0) for state in STATES},
            predictions=await repository.outcome_counts(session))

    async def actions(self, *, session: AsyncSession, outcome: str | None,
                      limit: int) -> list[MonitorActionReport]:
        """Those awaiting approval first, then newest first."""
        rows = await repository.actions(session, outcome=outcome,
                                        first=Outcome.AWAITING_APPROVAL.value, limit=limit)
        return [MonitorActionReport.model_validate(row) for row in rows]

    async def approve(self, *, session: AsyncSession, action_id: int, settings: Settings,
                      levers: Levers, actor: str) -> MonitorActionReport:
        """Pulls its lever as `actor`; a lever that refuses leaves the action `failed` (the
        caller commits that, then answers 409 with its `note`). An advisory action (an index
        suggestion) is settled as `accepted` with its note, not verified."""
        row = await self._awaiting(session, action_id)
        action = next((each for each in action_set.catalogue(settings)
                       if each.name == row.action), None)
        now = datetime.now(UTC)
        if action is None:
            values = {"outcome": Outcome.FAILED.value, "settled_at": now,
                      "note": f"{row.action} is no longer an action of this deployment"}
        else:
            try:
                await levers.pull(row.lever, target=row.target, value=row.value,
                                  seconds=action.hold_seconds, actor=actor)
            except LifeceoError as exc:
                values = {"outcome": Outcome.FAILED.value, "settled_at": now,
                          "note": str(exc)}
            else:
                values = ({"outcome": Outcome.ACCEPTED.value, "settled_at": now,
                           "note": action.advisory.format(target=row.target, value=row.value)}
                          if action.advisory else
                          {"outcome": Outcome.VERIFYING.value, "applied_at": now})
        await acting.decide(session, row, at=now, actor=actor, **values)
        return MonitorActionReport.model_validate(row)

    async def reject(self, *, session: AsyncSession, action_id: int, actor: str,
                     note: str) -> MonitorActionReport:
        row = await self._awaiting(session, action_id)
        now = datetime.now(UTC)
        await acting.decide(session, row, at=now, actor=actor, outcome=Outcome.REJECTED.value,
                            settled_at=now, note=note)
        return MonitorActionReport.model_validate(row)

    async def _awaiting(self, session: AsyncSession, action_id: int) -> MonitorAction:
        row = await repository.action(session, action_id)
        if row is None:
            raise NotFound(f"No action {action_id}.")
        if row.outcome != Outcome.AWAITING_APPROVAL:
            raise Conflict(f"Action {action_id} is {row.outcome}, not awaiting approval.")
        return row


monitor_service = MonitorService()
