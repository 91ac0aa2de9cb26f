"""GET /admin/logs: the warnings and errors of every process (or of the answering one), for
administrators."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from lifeceo.platform.http.identity import administrator
from lifeceo.platform.http.openapi import problem_responses
from lifeceo.platform.observability.logs_service import log_service
from lifeceo.platform.observability.recent_schemas import LogLevel, LogScope, RecentLogsPage

# Request ids are what RequestContextMiddleware accepts; trace ids are W3C's 32 hex digits.
REQUEST_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
TRACE_ID_PATTERN = r"^[0-9a-f]{32}$"
# Host names (RFC 1123 letters, digits, hyphens and dots).
NODE_PATTERN = r"^[A-Za-z0-9._-]{1,255}$"
MAX_LIMIT = 1000


router = APIRouter(prefix="/admin/logs", tags=["admin"], dependencies=[Depends(administrator)])


@router.get("", response_model=RecentLogsPage, responses=problem_responses(400),
            summary="Warnings and errors of every process (or the answering one), newest first")
async def recent_logs(
    request: Request,
    scope: Annotated[LogScope, Query(description="all: every process's, from the database "
                                                 "(the answering process's ring if it does not "
                                                 "answer); process: the answering one's")] = "all",
    request_id: Annotated[str | None, Query(pattern=REQUEST_ID_PATTERN)] = None,
    trace_id: Annotated[str | None, Query(pattern=TRACE_ID_PATTERN)] = None,
    level: Annotated[LogLevel | None, Query(description="This level and above")] = None,
    since: Annotated[datetime | None, Query(description="After this time (UTC if no zone)")] = None,
    until: Annotated[datetime | None, Query(description="Before this time (UTC if no zone)")] = None,
    node: Annotated[str | None, Query(pattern=NODE_PATTERN, description="Host name")] = None,
    cursor: Annotated[str | None, Query(max_length=200,
                                        description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
):
    return await log_service.page(
        sessionmaker=request.app.state.sessionmaker, shipper=request.app.state.log_shipper,
        scope=scope, request_id=request_id, trace_id=trace_id, level=level, since=since,
        until=until, node=node, cursor=cursor, limit=limit)
