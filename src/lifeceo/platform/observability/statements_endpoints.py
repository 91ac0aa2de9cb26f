"""GET /admin/statements: the database's busiest statements, for administrators."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from lifeceo.platform.http.identity import administrator
from lifeceo.platform.observability import statements
from lifeceo.platform.observability.statements_schemas import Statement, StatementsReport

MAX_LIMIT = 100

router = APIRouter(prefix="/admin/statements", tags=["admin"],
                   dependencies=[Depends(administrator)])


@router.get("", response_model=StatementsReport,
            summary="Statement statistics of every process, from pg_stat_statements")
async def busiest_statements(
    request: Request,
    order: Annotated[statements.Order, Query(description="Busiest by")] = "total_time",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
):
    reading = await statements.read(request.app.state.engine, order=order, limit=limit)
    return StatementsReport(available=reading.available, reason=reading.reason, items=[
        Statement(query_id=stats.query_id, query=stats.query, calls=stats.calls,
                  total_ms=stats.total_ms, mean_ms=stats.mean_ms, max_ms=stats.max_ms,
                  rows=stats.rows, hit_ratio=stats.hit_ratio) for stats in reading.statements])
