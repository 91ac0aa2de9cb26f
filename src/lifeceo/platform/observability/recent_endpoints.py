"""GET /admin/logs: the recent warnings and errors of the answering process, for administrators."""

import os
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from lifeceo.platform.http.identity import administrator
from lifeceo.platform.observability.recent import RECENT_LOGS
from lifeceo.platform.observability.recent_schemas import LogLevel, RecentLogsPage

# Request ids are what RequestContextMiddleware accepts; trace ids are W3C's 32 hex digits.
REQUEST_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
TRACE_ID_PATTERN = r"^[0-9a-f]{32}$"
MAX_LIMIT = 1000


router = APIRouter(prefix="/admin/logs", tags=["admin"], dependencies=[Depends(administrator)])


@router.get("", response_model=RecentLogsPage,
            summary="Recent warnings and errors of the answering process, newest first")
async def recent_logs(
    request_id: Annotated[str | None, Query(pattern=REQUEST_ID_PATTERN)] = None,
    trace_id: Annotated[str | None, Query(pattern=TRACE_ID_PATTERN)] = None,
    level: Annotated[LogLevel | None, Query(description="This level and above")] = None,
    since: Annotated[datetime | None, Query(description="After this time (UTC if no zone)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
):
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    items = RECENT_LOGS.query(request_id=request_id, trace_id=trace_id, level=level,
                              since=since, limit=limit)
    return RecentLogsPage(items=items, pid=os.getpid(), capacity=RECENT_LOGS.capacity,
                          held=len(RECENT_LOGS))
