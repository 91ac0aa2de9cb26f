"""Statement statistics across every process, from pg_stat_statements where the server has it.

The request profiles see the statements of one process; PostgreSQL's own counters see those of
every process and node, jobs included. The extension must be preloaded by the server and created
in the database (the embedded server does both); where either is missing, `read` says why and the
callers carry on without it."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from lifeceo.platform.db.errors import database_unavailable

Order = Literal["total_time", "mean_time", "calls"]
ORDER_COLUMNS: dict[str, str] = {"total_time": "total_exec_time", "mean_time": "mean_exec_time",
                                 "calls": "calls"}
# SQLSTATE 55000 (object_not_in_prerequisite_state): created but not in shared_preload_libraries.
NOT_PRELOADED = "55000"
NOT_CREATED = ("pg_stat_statements is not created in this database: "
               "CREATE EXTENSION pg_stat_statements")
NOT_PRELOADED_REASON = ("pg_stat_statements is not loaded by the server: add it to "
                        "shared_preload_libraries and restart PostgreSQL")
# Our own reads of the view would otherwise rank among the statements they report.
SELF = "%pg_stat_statements%"


@dataclass(frozen=True, slots=True)
class StatementStats:
    """Cumulative figures of one normalised statement since the server last reset them."""

    query_id: int
    query: str
    calls: int
    total_ms: float
    mean_ms: float
    max_ms: float
    rows: int
    # Shared buffers found in memory against those read from disk (or the OS cache).
    blocks_hit: int
    blocks_read: int

    @property
    def hit_ratio(self) -> float | None:
        blocks = self.blocks_hit + self.blocks_read
        return self.blocks_hit / blocks if blocks else None


@dataclass(frozen=True, slots=True)
class StatementsReading:
    available: bool
    reason: str | None
    statements: list[StatementStats]


async def read(engine: AsyncEngine, *, order: Order = "total_time",
               limit: int = 20) -> StatementsReading:
    """The top `limit` statements of this database by `order`, or why there are none."""
    column = ORDER_COLUMNS[order]
    async with engine.connect() as connection:
        created = await connection.scalar(text(
            "SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'"))
        if not created:
            return StatementsReading(available=False, reason=NOT_CREATED, statements=[])
        try:
            rows = (await connection.execute(text(
                "SELECT queryid, query, calls, total_exec_time, mean_exec_time, max_exec_time,"
                " rows, shared_blks_hit, shared_blks_read FROM pg_stat_statements"
                " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
                " AND queryid IS NOT NULL AND query NOT LIKE :self"
                f" ORDER BY {column} DESC LIMIT :limit"), {"self": SELF, "limit": limit})).all()
        except DBAPIError as exc:
            if database_unavailable(exc) or getattr(exc.orig, "sqlstate", None) != NOT_PRELOADED:
                raise
            return StatementsReading(available=False, reason=NOT_PRELOADED_REASON, statements=[])
    return StatementsReading(available=True, reason=None, statements=[
        StatementStats(query_id=row[0], query=row[1], calls=row[2], total_ms=row[3],
                       mean_ms=row[4], max_ms=row[5], rows=row[6], blocks_hit=row[7],
                       blocks_read=row[8]) for row in rows])


def delta(before: Iterable[StatementStats],
          after: Iterable[StatementStats]) -> list[StatementStats]:
    """What ran between two readings, busiest first: the counters are cumulative, so a window's
    figures are the difference. A statement whose calls went down was reset (or evicted and
    seen again) in between, and counts from zero."""
    earlier = {stats.query_id: stats for stats in before}
    changed = []
    for now in after:
        then = earlier.get(now.query_id)
        if then is not None and now.calls < then.calls:
            then = None
        if then is None:
            changed.append(now)
            continue
        calls = now.calls - then.calls
        if calls == 0:
            continue
        total = now.total_ms - then.total_ms
        changed.append(StatementStats(
            query_id=now.query_id, query=now.query, calls=calls, total_ms=total,
            # The server keeps no maximum per window: this one is since the last reset.
            mean_ms=total / calls, max_ms=now.max_ms, rows=now.rows - then.rows,
            blocks_hit=now.blocks_hit - then.blocks_hit,
            blocks_read=now.blocks_read - then.blocks_read))
    return sorted(changed, key=lambda stats: stats.total_ms, reverse=True)
