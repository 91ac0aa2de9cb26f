"""GET /admin/profiles: the request profiles kept by the answering process, for administrators."""

import os
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from lifeceo.errors import NotFound
from lifeceo.platform.http.identity import administrator
from lifeceo.platform.http.params import assume_utc
from lifeceo.platform.observability.profiles import PROFILES, Order
from lifeceo.platform.observability.profiles_schemas import (
    ProfileDetail,
    ProfilesPage,
    ProfileSummary,
)
from lifeceo.platform.observability.recent_endpoints import REQUEST_ID_PATTERN

MAX_LIMIT = 1000
# Route templates are paths; a longer filter cannot match one.
MAX_ROUTE_CHARS = 256

router = APIRouter(prefix="/admin/profiles", tags=["admin"],
                   dependencies=[Depends(administrator)])


@router.get("", response_model=ProfilesPage,
            summary="Request profiles kept by the answering process, newest or slowest first")
async def list_profiles(
    route: Annotated[str | None, Query(max_length=MAX_ROUTE_CHARS,
                                       description="Route template, e.g. /api/v1/posts/{post_id}")
                     ] = None,
    min_duration_ms: Annotated[float | None, Query(ge=0, le=86_400_000)] = None,
    since: Annotated[datetime | None, Query(description="After this time (UTC if no zone)")] = None,
    order: Annotated[Order, Query()] = "newest",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
):
    profiles, held = PROFILES.recent_and_held(since=assume_utc(since), route=route,
                                              min_duration_ms=min_duration_ms, order=order,
                                              limit=limit)
    return ProfilesPage(items=[ProfileSummary.of(profile) for profile in profiles],
                        pid=os.getpid(), capacity=PROFILES.capacity, held=held)


@router.get("/{request_id}", response_model=ProfileDetail,
            summary="One request's profile, from the answering process, statements by fingerprint")
async def profile_detail(request_id: Annotated[str, Path(pattern=REQUEST_ID_PATTERN)]):
    profile = PROFILES.find(request_id)
    if profile is None:
        raise NotFound(f"No profile of request {request_id} in process {os.getpid()}; each "
                       "worker keeps its own sample, and only the slowest requests.")
    return ProfileDetail.of_process(profile, pid=os.getpid())
