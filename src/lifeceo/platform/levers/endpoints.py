"""/api/v1/admin/levers: what the runtime levers do in every process, pull one, undo it."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from lifeceo.platform.http.identity import Administrator, administrator
from lifeceo.platform.http.openapi import problem_responses
from lifeceo.platform.levers.board import LeverBoard, Setting
from lifeceo.platform.levers.schemas import (
    LEVER_PATTERN,
    TARGET_PATTERN,
    LeverPull,
    LeverSetting,
    LeversReport,
)

LeverName = Annotated[str, Path(pattern=LEVER_PATTERN)]

router = APIRouter(prefix="/admin/levers", tags=["admin"], dependencies=[Depends(administrator)])


def _board(request: Request) -> LeverBoard:
    return request.app.state.levers


def _described(setting: Setting) -> LeverSetting:
    return LeverSetting(lever=setting.lever, target=setting.target, value=setting.value,
                        expires_at=datetime.fromtimestamp(setting.until, UTC))


@router.get("", response_model=LeversReport,
            summary="The levers in force and each process's state, from every process")
async def levers(request: Request):
    board = _board(request)
    wait_seconds = request.app.state.settings.levers_report_wait_ms / 1000
    processes = await board.report(wait_seconds=wait_seconds)
    return LeversReport(settings=[_described(setting) for setting in board.settings()],
                        processes=processes)


@router.post("/{name}", response_model=LeverSetting, responses=problem_responses(409),
             summary="Pull a lever in every process, for `seconds`")
async def pull_lever(name: LeverName, body: LeverPull, request: Request, user: Administrator):
    setting = await _board(request).pull(name, target=body.target, value=body.value,
                                         seconds=body.seconds, actor=f"user:{user.id}")
    return _described(setting)


@router.delete("/{name}", status_code=204, response_class=Response,
               summary="Undo a lever in every process")
async def undo_lever(name: LeverName, request: Request, user: Administrator,
                     target: Annotated[str, Query(pattern=TARGET_PATTERN)]):
    await _board(request).undo(name, target=target, actor=f"user:{user.id}")
    return Response(status_code=204)
