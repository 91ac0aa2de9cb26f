"""Reading the warnings and errors: every process's from log_records, or one process's ring
buffer, which also answers when the database does not."""

import os
from datetime import datetime

from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lifeceo.platform.db.errors import database_unavailable
from lifeceo.platform.http.pagination import decode_cursor, encode_cursor
from lifeceo.platform.http.params import assume_utc
from lifeceo.platform.observability import logs_repository as repository
from lifeceo.platform.observability.logs_shipper import NODE, LogShipper
from lifeceo.platform.observability.recent import LEVELS, RECENT_LOGS
from lifeceo.platform.observability.recent_schemas import LogRecord, RecentLogsPage


class LogService:
    async def records(self, *, session: AsyncSession, request_id: str | None = None,
                      trace_id: str | None = None, level: str | None = None,
                      since: datetime | None = None, until: datetime | None = None,
                      node: str | None = None, before: tuple[datetime, int] | None = None,
                      limit: int = 100) -> list[LogRecord]:
        """Every process's records, newest first: of the request or trace, at `level` or above,
        after `since` and before `until` (UTC if no zone), of one node."""
        rows = await repository.records(
            session, request_id=request_id, trace_id=trace_id,
            levels=LEVELS[LEVELS.index(level):] if level else None, since=assume_utc(since),
            until=assume_utc(until), node=node, before=before, limit=limit)
        return [LogRecord.model_validate(row) for row in rows]

    async def page(self, *, sessionmaker: async_sessionmaker[AsyncSession],
                   shipper: LogShipper | None, scope: str, request_id: str | None,
                   trace_id: str | None, level: str | None, since: datetime | None,
                   until: datetime | None, node: str | None, cursor: str | None,
                   limit: int) -> RecentLogsPage:
        before = decode_cursor(cursor) if cursor else None
        since, until = assume_utc(since), assume_utc(until)
        degraded = None
        if scope == "all":
            # This process's last second of records first: what the asker just saw go wrong.
            if shipper is not None:
                await shipper.flush()
            try:
                async with sessionmaker() as session:
                    items = await self.records(
                        session=session, request_id=request_id, trace_id=trace_id, level=level,
                        since=since, until=until, node=node, before=before, limit=limit + 1)
            except Exception as exc:
                if not (database_unavailable(exc) or isinstance(exc, PoolTimeout)):
                    raise
                degraded = (f"The database does not answer ({type(exc).__name__}): these are "
                            "the records of the answering process only.")
            else:
                next_cursor = None
                if len(items) > limit:
                    items = items[:limit]
                    next_cursor = encode_cursor(items[-1].time, items[-1].id)
                return self._page("database", items, next_cursor=next_cursor, degraded=None)
        found = [] if node not in (None, NODE) else RECENT_LOGS.query(
            request_id=request_id, trace_id=trace_id, level=level, since=since, until=until,
            limit=limit)
        identity = {"node": NODE, "pid": os.getpid(),
                    "role": shipper.role if shipper is not None else None}
        items = [LogRecord.model_validate({**record, **identity}) for record in found]
        return self._page("process", items, next_cursor=None, degraded=degraded)

    @staticmethod
    def _page(source: str, items: list[LogRecord], *, next_cursor: str | None,
              degraded: str | None) -> RecentLogsPage:
        return RecentLogsPage(source=source, degraded=degraded, items=items,
                              next_cursor=next_cursor, pid=os.getpid(),
                              capacity=RECENT_LOGS.capacity, held=len(RECENT_LOGS))


log_service = LogService()
