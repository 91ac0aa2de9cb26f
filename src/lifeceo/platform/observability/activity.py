"""What every backend of this database is running now, from pg_stat_activity, and cancelling one
statement of them (the monitor's cancel_query, once an administrator approves it)."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

# A statement's text as pg_stat_activity gives it (track_activity_query_size, 1 KB by default).
MAX_QUERY_CHARS = 1000


@dataclass(frozen=True, slots=True)
class Backend:
    pid: int
    # When its current statement started, and for how long it has run by the server's clock.
    query_start: datetime
    running_seconds: float
    query: str
    # pg_stat_statements' id of the statement (compute_query_id), None where it is off.
    query_id: int | None
    application_name: str
    user: str | None
    client: str | None


async def running(engine: AsyncEngine) -> list[Backend]:
    """The client backends of this database with a statement under way, longest first: not this
    reading's own backend, not other databases', not autovacuum or the server's own workers."""
    async with engine.connect() as connection:
        rows = (await connection.execute(text(
            "SELECT pid, query_start, extract(epoch FROM clock_timestamp() - query_start),"
            " left(query, :chars), query_id, application_name, usename, client_addr::text"
            " FROM pg_stat_activity WHERE datname = current_database() AND state = 'active'"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            " AND query_start IS NOT NULL ORDER BY query_start"),
            {"chars": MAX_QUERY_CHARS})).all()
    return [Backend(pid=row[0], query_start=row[1], running_seconds=float(row[2]), query=row[3],
                    query_id=row[4], application_name=row[5] or "", user=row[6],
                    client=row[7]) for row in rows]


async def cancel(engine: AsyncEngine, *, pid: int, query_start: datetime) -> bool:
    """pg_cancel_backend of `pid` only while it still runs the statement that started at
    `query_start`: a pooled connection that moved on to another statement is left alone.
    Whether it was signalled; the statement then fails with 57014 (query_canceled)."""
    async with engine.connect() as connection:
        signalled = await connection.scalar(text(
            "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE pid = :pid"
            " AND datname = current_database() AND state = 'active'"
            " AND query_start = :query_start"), {"pid": pid, "query_start": query_start})
    return bool(signalled)
