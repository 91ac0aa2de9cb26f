"""Statement statistics across every process, from pg_stat_statements where the server has it.

The request profiles see the statements of one process; PostgreSQL's own counters see those of
every process and node, jobs included. The extension must be preloaded by the server and created
in the database (the embedded server does both); where either is missing, `read` says why and the
callers carry on without it."""

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from lifeceo.platform.db.errors import database_unavailable

Order = Literal["total_time", "mean_time", "calls"]
ORDER_COLUMNS: dict[str, str] = {"total_time": "total_exec_time", "mean_time": "mean_exec_time",
                                 "calls": "calls"}
NOT_CREATED = ("pg_stat_statements is not created in this database: "
               "CREATE EXTENSION pg_stat_statements")
NOT_PRELOADED_REASON = ("pg_stat_statements is not loaded by the server: add it to "
                        "shared_preload_libraries and restart PostgreSQL")
# The reading itself says which is missing, so it needs no look at pg_extension first: SQLSTATE
# 42P01 (undefined_table) when the view was never created, 55000
# (object_not_in_prerequisite_state) when it was but the library is not preloaded.
UNAVAILABLE = {"42P01": NOT_CREATED, "55000": NOT_PRELOADED_REASON}
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
        try:
            rows = (await connection.execute(text(
                "SELECT queryid, query, calls, total_exec_time, mean_exec_time, max_exec_time,"
                " rows, shared_blks_hit, shared_blks_read FROM pg_stat_statements"
                " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
                " AND queryid IS NOT NULL AND query NOT LIKE :self"
                f" ORDER BY {column} DESC LIMIT :limit"), {"self": SELF, "limit": limit})).all()
        except DBAPIError as exc:
            reason = UNAVAILABLE.get(getattr(exc.orig, "sqlstate", None))
            if database_unavailable(exc) or reason is None:
                raise
            return StatementsReading(available=False, reason=reason, statements=[])
    return StatementsReading(available=True, reason=None, statements=[
        StatementStats(query_id=row[0], query=row[1], calls=row[2], total_ms=row[3],
                       mean_ms=row[4], max_ms=row[5], rows=row[6], blocks_hit=row[7],
                       blocks_read=row[8]) for row in rows])


async def text_of(engine: AsyncEngine, query_id: int) -> str | None:
    """The normalised text of one statement of this database, None if the server has none."""
    async with engine.connect() as connection:
        try:
            return await connection.scalar(text(
                "SELECT query FROM pg_stat_statements WHERE queryid = :query_id"
                " AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
                " LIMIT 1"), {"query_id": query_id})
        except DBAPIError as exc:
            if database_unavailable(exc) or getattr(exc.orig, "sqlstate", None) not in UNAVAILABLE:
                raise
            return None
