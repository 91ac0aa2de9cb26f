"""/api/v1/admin/metrics/series: the metrics history, for administrators."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from lifeceo.platform.db.session import DbSession
from lifeceo.platform.http.identity import administrator
from lifeceo.platform.observability.history_schemas import SeriesName, SeriesReport
from lifeceo.platform.observability.history_series import LABEL_CHARS
from lifeceo.platform.observability.history_service import history_service

router = APIRouter(prefix="/admin/metrics", tags=["admin"],
                   dependencies=[Depends(administrator)])


@router.get("/series", response_model=SeriesReport, summary="One series of the metrics history")
async def series(
    request: Request,
    session: DbSession,
    name: Annotated[SeriesName, Query(description="Series name, e.g. http_latency_p95_seconds")],
    label: Annotated[str | None, Query(min_length=1, max_length=LABEL_CHARS,
                                       description="One label only (route class, namespace, "
                                                   "queue, stat); all when absent")] = None,
    start: Annotated[datetime | None, Query(alias="from",
                                            description="Default: an hour before `to`")] = None,
    end: Annotated[datetime | None, Query(alias="to", description="Default: now")] = None,
    step: Annotated[int | None, Query(ge=1, le=30 * 86400,
                                      description="Seconds per point; default: the finest "
                                                  "resolution that fits")] = None,
):
    return await history_service.series(session=session, settings=request.app.state.settings,
                                         name=name, label=label, start=start, end=end, step=step)
