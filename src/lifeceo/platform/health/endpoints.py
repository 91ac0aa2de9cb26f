"""/api/health (liveness), /api/health/ready (readiness), /api/health/startup."""

import os
import time

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from lifeceo.platform.health.checks import Check, worst

router = APIRouter(prefix="/api/health", tags=["health"])
HEALTH_JSON = "application/health+json"


def _report(status: str, checks: list[Check], **extra: object) -> Response:
    body = {
        "status": status,
        "serviceId": "lifeceo",
        **extra,
        "checks": {check.key: [check.as_json()] for check in checks},
    }
    return Response(orjson.dumps(body), status_code=503 if status == "fail" else 200,
                    media_type=HEALTH_JSON, headers={"cache-control": "no-store"})


def _uptime(request: Request) -> Check:
    uptime = round(time.monotonic() - request.app.state.health.started_at, 3)
    return Check("uptime", "seconds", "system", "pass", uptime, "s")


@router.get("", summary="Liveness: the process and its event loop answer")
async def liveness(request: Request) -> Response:
    return _report("pass", [_uptime(request)], pid=os.getpid())


@router.get("/ready", summary="Readiness: every dependency answers")
async def readiness(request: Request) -> Response:
    checks = await request.app.state.health.run()
    return _report(worst([check.status for check in checks]), [_uptime(request), *checks])


@router.get("/startup", summary="Startup: migrations verified and services wired")
async def startup(request: Request) -> Response:
    started = getattr(request.app.state, "startup_seconds", None)
    check = Check("startup", "duration", "system", "pass" if started is not None else "fail",
                  started, "s")
    return _report(check.status, [check])
