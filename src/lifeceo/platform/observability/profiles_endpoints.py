"""GET /admin/profiles: the request profiles kept by every process (or by the answering one),
for administrators."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from lifeceo.errors import NotFound
from lifeceo.platform.http.identity import administrator
from lifeceo.platform.http.openapi import problem_responses
from lifeceo.platform.http.params import assume_utc
from lifeceo.platform.observability.profiles import Order
from lifeceo.platform.observability.profiles_report import MAX_LIMIT, ProfileQuery, ProfileReport
from lifeceo.platform.observability.profiles_schemas import (
    ProfileDetail,
    ProfileScope,
    ProfilesPage,
)
from lifeceo.platform.observability.recent_endpoints import REQUEST_ID_PATTERN

# Route templates are paths; a longer filter cannot match one.
MAX_ROUTE_CHARS = 256
SCOPE = ("all: every process's sample that answers within LIFECEO_PROFILES_REPORT_WAIT_MS "
         "(this one's first), merged; process: the answering process's alone, at once")

router = APIRouter(prefix="/admin/profiles", tags=["admin"],
                   dependencies=[Depends(administrator)])


def _report(request: Request) -> ProfileReport:
    return request.app.state.profiles


@router.get("", response_model=ProfilesPage,
            summary="Request profiles kept by every process (or the answering one), newest or "
                    "slowest first")
async def list_profiles(
    request: Request,
    scope: Annotated[ProfileScope, Query(description=SCOPE)] = "all",
    route: Annotated[str | None, Query(max_length=MAX_ROUTE_CHARS,
                                       description="Route template, e.g. /api/v1/posts/{post_id}")
                     ] = None,
    min_duration_ms: Annotated[float | None, Query(ge=0, le=86_400_000)] = None,
    since: Annotated[datetime | None, Query(description="After this time (UTC if no zone)")] = None,
    order: Annotated[Order, Query()] = "newest",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="At most this many in all, "
                                "and from each process")] = 100,
):
    query = ProfileQuery(route=route, min_duration_ms=min_duration_ms, since=assume_utc(since),
                         order=order, limit=limit)
    return await _report(request).page(query, scope=scope)


@router.get("/{request_id}", response_model=ProfileDetail, responses=problem_responses(404),
            summary="One request's profile from whichever process keeps it, statements by "
                    "fingerprint")
async def profile_detail(
    request: Request,
    request_id: Annotated[str, Path(pattern=REQUEST_ID_PATTERN)],
    scope: Annotated[ProfileScope, Query(description=SCOPE)] = "all",
):
    report = _report(request)
    profile, answered = await report.find(request_id, scope=scope)
    if profile is None:
        raise NotFound(f"No profile of request {request_id} in the {answered} process(es) that "
                       "answered; each keeps a sample of the slowest requests for a few minutes.",
                       answered=answered)
    return profile
