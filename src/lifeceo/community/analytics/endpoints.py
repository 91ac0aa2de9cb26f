"""HTTP endpoints of analytics: browser timing beacons in, counts and percentiles out for
administrators."""

from datetime import datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from lifeceo.community.analytics.schemas import (
    Accepted,
    EventKind,
    HourlyCounts,
    PerformanceReport,
    RumBeacon,
)
from lifeceo.community.analytics.service import MAX_REPORT_DAYS, analytics_service
from lifeceo.community.users.dependencies import CurrentUser
from lifeceo.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from lifeceo.platform.db.session import DbSession
from lifeceo.platform.http.openapi import problem_responses
from lifeceo.platform.ratelimit import rate_limit
from lifeceo.settings import get_settings

router = APIRouter(tags=["analytics"])
# navigator.sendBeacon(url, string) sends text/plain, the only type it can send cross-origin
# without a preflight; fetch() and a Blob can send application/json.
BEACON_TYPES = frozenset({"application/json", "text/plain"})
_BEACON_SCHEMA = RumBeacon.model_json_schema()


def _beacon(content_type: str | None, body: bytes) -> RumBeacon:
    limit = get_settings().rum_max_body_bytes
    if len(body) > limit:
        raise PayloadTooLarge(f"A beacon is at most {limit} bytes.", max_bytes=limit)
    media_type = (content_type or "").partition(";")[0].strip().lower()
    if media_type not in BEACON_TYPES:
        raise UnsupportedMediaType("Send the beacon as application/json or text/plain.")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest("The beacon is not valid JSON.") from None
    try:
        return RumBeacon.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]) from None


# Anonymous and per address: a beacon changes nothing of its sender's, so it needs neither a
# session nor the CSRF token sendBeacon could not send.
@router.post("/rum", status_code=status.HTTP_202_ACCEPTED, response_model=Accepted,
             dependencies=[rate_limit("rum")], responses=problem_responses(422),
             openapi_extra={"requestBody": {"required": True, "content": {
                 media_type: {"schema": _BEACON_SCHEMA} for media_type in sorted(BEACON_TYPES)}}})
async def rum_beacon(request: Request, session: DbSession):
    """A page's Core Web Vitals (LCP, INP, CLS), TTFB and load time, as a browser measured
    them; written by the performance-metrics queue."""
    beacon = _beacon(request.headers.get("content-type"), await request.body())
    await analytics_service.accept_beacon(session=session, beacon=beacon)
    return Accepted()


@router.get("/admin/analytics/hourly", response_model=HourlyCounts,
            responses=problem_responses(400, 403))
async def hourly_counts(user: CurrentUser, session: DbSession,
                        since: Annotated[datetime | None, Query(
                            description="start, inclusive (default: a day before until)")] = None,
                        until: Annotated[datetime | None, Query(
                            description=f"end, exclusive (default: now); at most "
                                        f"{MAX_REPORT_DAYS} days after since")] = None,
                        kind: EventKind | None = None):
    """Tracked events (signup, post_viewed, search, like) counted per hour."""
    return await analytics_service.hourly_counts(session=session, actor=user, since=since,
                                                 until=until, kind=kind)


@router.get("/admin/analytics/performance", response_model=PerformanceReport,
            responses=problem_responses(403))
async def page_performance(user: CurrentUser, session: DbSession,
                           hours: Annotated[int, Query(ge=1, le=24 * MAX_REPORT_DAYS)] = 24,
                           min_samples: Annotated[int | None, Query(ge=1, le=1_000_000)] = None):
    """p50/p75/p95 of each browser timing per page over the last `hours`, busiest pages first;
    null where a page has fewer than `min_samples` (default LIFECEO_RUM_MIN_SAMPLES) samples."""
    return await analytics_service.page_performance(
        session=session, actor=user, hours=hours,
        min_samples=min_samples or get_settings().rum_min_samples)
