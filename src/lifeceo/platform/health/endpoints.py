"""/api/health (liveness), /api/health/ready (readiness), /api/health/startup."""

import os
import time
from typing import Any, Literal

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from lifeceo.platform.health.checks import Check, worst

HEALTH_JSON = "application/health+json"


class HealthResponse(JSONResponse):
    media_type = HEALTH_JSON

    def render(self, content: object) -> bytes:
        return orjson.dumps(content)


class HealthReport(BaseModel):
    """draft-inadarei-api-health-check: the status, and each check's under its name."""

    model_config = ConfigDict(extra="allow")
    status: Literal["pass", "warn", "fail"]
    serviceId: str
    checks: dict[str, list[dict[str, Any]]]


# 503 when the status is "fail".
REPORT = {"schema": {"$ref": "#/components/schemas/HealthReport"}}
FAILING = {503: {"description": "A check fails: take this process out of rotation",
                 "content": {HEALTH_JSON: REPORT}}}
router = APIRouter(prefix="/api/health", tags=["health"], default_response_class=HealthResponse)


def _report(status: str, checks: list[Check], **extra: object) -> HealthResponse:
    body = {
        "status": status,
        "serviceId": "lifeceo",
        **extra,
        "checks": {check.key: [check.as_json()] for check in checks},
    }
    return HealthResponse(body, status_code=503 if status == "fail" else 200,
                          headers={"cache-control": "no-store"})


def _uptime(request: Request) -> Check:
    uptime = round(time.monotonic() - request.app.state.health.started_at, 3)
    return Check("uptime", "seconds", "system", "pass", uptime, "s")


@router.get("", summary="Liveness: the process and its event loop answer",
            response_model=HealthReport)
async def liveness(request: Request) -> HealthResponse:
    return _report("pass", [_uptime(request)], pid=os.getpid())


@router.get("/ready", summary="Readiness: every dependency answers",
            response_model=HealthReport, responses=FAILING)
async def readiness(request: Request) -> HealthResponse:
    checks = await request.app.state.health.run()
    return _report(worst([check.status for check in checks]), [_uptime(request), *checks])


@router.get("/startup", summary="Startup: migrations verified and services wired",
            response_model=HealthReport, responses=FAILING)
async def startup(request: Request) -> HealthResponse:
    started = getattr(request.app.state, "startup_seconds", None)
    check = Check("startup", "duration", "system", "pass" if started is not None else "fail",
                  started, "s")
    return _report(check.status, [check])
