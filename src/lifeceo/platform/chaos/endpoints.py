"""/api/v1/admin/chaos: the faults in force in every process, inject one, clear them; and the
probe route that the n_plus_one fault makes repeat its SELECT. Mounted only where chaos is
armed: elsewhere every path answers 404, as any unknown path does."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy import text

from lifeceo.platform.chaos.board import ChaosBoard
from lifeceo.platform.chaos.schemas import (
    KIND_PATTERN,
    ChaosReport,
    FaultInForce,
    FaultInjection,
    FaultsCleared,
)
from lifeceo.platform.db.session import DbSession
from lifeceo.platform.http.identity import Administrator, administrator
from lifeceo.platform.http.openapi import problem_responses
from lifeceo.platform.levers.board import Setting

Kind = Annotated[str, Path(pattern=KIND_PATTERN)]
# The same statement each time, as a loop over a page's items issues it.
PROBE_STATEMENT = text("SELECT key FROM feature_flags WHERE key = :key")

router = APIRouter(prefix="/admin/chaos", tags=["admin"], dependencies=[Depends(administrator)])


def _board(request: Request) -> ChaosBoard:
    return request.app.state.chaos


def _described(setting: Setting) -> FaultInForce:
    return FaultInForce(kind=setting.lever, target=setting.target,
                        magnitude=float(setting.value),
                        expires_at=datetime.fromtimestamp(setting.until, UTC))


@router.get("", response_model=ChaosReport,
            summary="The faults in force and each process's state, from every process")
async def faults(request: Request):
    board = _board(request)
    wait_seconds = request.app.state.settings.chaos_report_wait_ms / 1000
    processes = await board.report(wait_seconds=wait_seconds)
    return ChaosReport(faults=[_described(setting) for setting in board.settings()],
                       processes=processes)


@router.post("/{kind}", response_model=FaultInForce, responses=problem_responses(404, 409),
             summary="Inject a fault in every process, for `seconds`")
async def inject(kind: Kind, body: FaultInjection, request: Request, user: Administrator):
    setting = await _board(request).inject(kind, magnitude=body.magnitude, seconds=body.seconds,
                                           target=body.target, actor=f"user:{user.id}")
    return _described(setting)


@router.delete("", response_model=FaultsCleared, summary="Clear every fault in every process")
async def clear_all(request: Request, user: Administrator):
    cleared = await _board(request).clear(actor=f"user:{user.id}")
    return FaultsCleared(cleared=[_described(setting) for setting in cleared])


@router.delete("/{kind}", response_model=FaultsCleared, responses=problem_responses(404),
               summary="Clear one kind's faults in every process")
async def clear(kind: Kind, request: Request, user: Administrator):
    cleared = await _board(request).clear(kind, actor=f"user:{user.id}")
    return FaultsCleared(cleared=[_described(setting) for setting in cleared])


@router.get("/probe/n-plus-one", summary="Look flags up one by one: as many times as the "
            "n_plus_one fault says, once without it")
async def n_plus_one_probe(request: Request, session: DbSession) -> dict[str, int]:
    # A route of its own rather than a real read path made to repeat: infrastructure cannot
    # reach into the domain's queries, and no page a member uses changes shape under chaos.
    repeats = _board(request).levers["n_plus_one"].repeats()
    for index in range(repeats):
        await session.execute(PROBE_STATEMENT, {"key": f"probe-{index}"})
    return {"statements": repeats}
