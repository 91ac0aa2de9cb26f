"""/api/v1/admin/monitor: incidents, detectors, predictions, remediation actions (approve or
reject those that wait) and the monitor's status, for administrators."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from lifeceo.errors import Conflict
from lifeceo.platform.db.session import DbSession
from lifeceo.platform.flags import switches as flag_switches
from lifeceo.platform.http.identity import Administrator, administrator
from lifeceo.platform.http.openapi import problem_responses
from lifeceo.platform.http.pagination import Page, Pagination, RowId, page_of
from lifeceo.platform.monitor import detectors as detector_set
from lifeceo.platform.monitor.own_levers import monitor_levers
from lifeceo.platform.monitor.schemas import (
    ActionOutcome,
    ActionRejection,
    DetectorReport,
    Incident,
    IncidentDetail,
    IncidentState,
    MonitorActionReport,
    MonitorStatus,
    PredictionOutcome,
    PredictionReport,
)
from lifeceo.platform.monitor.service import MAX_ACTIONS, MAX_PREDICTIONS, monitor_service

router = APIRouter(prefix="/admin/monitor", tags=["admin"], dependencies=[Depends(administrator)])


@router.get("/incidents", response_model=Page[Incident], summary="Incidents, newest first")
async def list_incidents(session: DbSession, page: Pagination,
                         state: Annotated[IncidentState | None, Query()] = None):
    found = await monitor_service.incidents(session=session, state=state, before=page.after,
                                            limit=page.limit + 1)
    items, cursor = page_of(found, page, key=lambda incident: (incident.opened_at, incident.id))
    return Page(items=items, next_cursor=cursor)


@router.get("/incidents/{incident_id}", response_model=IncidentDetail,
            summary="One incident with its evidence, timeline and predictions")
async def incident(incident_id: RowId, session: DbSession):
    return await monitor_service.incident(session=session, incident_id=incident_id)


@router.get("/detectors", response_model=list[DetectorReport],
            summary="Each detector with the leader's last evaluation and its baseline")
async def detectors(request: Request, session: DbSession):
    monitor = request.app.state.monitor
    return await monitor_service.detectors(
        session=session, detectors=monitor.detectors if monitor is not None
        else detector_set.from_settings(request.app.state.settings))


@router.get("/predictions", response_model=PredictionReport,
            summary="Forecasts the detectors made, how they turned out, and the hit rate")
async def predictions(session: DbSession,
                      outcome: Annotated[PredictionOutcome | None, Query()] = None,
                      limit: Annotated[int, Query(ge=1, le=MAX_PREDICTIONS)] = 50):
    return await monitor_service.predictions(session=session, outcome=outcome, limit=limit)


@router.get("/actions", response_model=list[MonitorActionReport],
            summary="Remediation actions, those awaiting approval first, then newest first")
async def actions(session: DbSession, outcome: Annotated[ActionOutcome | None, Query()] = None,
                  limit: Annotated[int, Query(ge=1, le=MAX_ACTIONS)] = 50):
    return await monitor_service.actions(session=session, outcome=outcome, limit=limit)


@router.post("/actions/{action_id}/approve", response_model=MonitorActionReport,
             responses=problem_responses(409),
             summary="Approve an action awaiting approval: its lever is pulled now")
async def approve_action(action_id: RowId, request: Request, session: DbSession,
                         user: Administrator):
    approved = await monitor_service.approve(
        session=session, action_id=action_id, settings=request.app.state.settings,
        levers=monitor_levers(request.app.state.levers, request.app.state.engine,
                              request.app.state.sessionmaker), actor=f"user:{user.id}")
    if approved.outcome == "failed":
        # The refusal is kept (the action is settled), then reported as the conflict it is.
        await session.commit()
        raise Conflict(f"Action {action_id} failed: {approved.note}")
    return approved


@router.post("/actions/{action_id}/reject", response_model=MonitorActionReport,
             responses=problem_responses(409),
             summary="Reject an action awaiting approval: nothing is pulled")
async def reject_action(action_id: RowId, session: DbSession, user: Administrator,
                        body: ActionRejection | None = None):
    return await monitor_service.reject(session=session, action_id=action_id,
                                        actor=f"user:{user.id}",
                                        note=body.note if body else "")


@router.get("/status", response_model=MonitorStatus,
            summary="The leader, its last evaluation, and the incidents by state")
async def status(request: Request, session: DbSession):
    return await monitor_service.status(session=session, settings=request.app.state.settings,
                                        monitor=request.app.state.monitor,
                                        paused=flag_switches.monitoring_paused())
