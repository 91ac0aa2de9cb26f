"""The shapes of GET /admin/logs."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

LogLevel = Literal["warning", "error", "critical"]
# all: every process's shipped records (log_records); process: the answering one's ring buffer.
LogScope = Literal["all", "process"]


class LogRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    # In log_records (arrival order); None in a ring buffer.
    id: int | None = None
    time: datetime | None
    level: str
    logger: str | None
    event: str
    request_id: str | None
    trace_id: str | None
    span_id: str | None
    fields: dict[str, Any]
    # Who logged it: the host, the process and its role (web, worker).
    node: str | None = None
    pid: int | None = None
    role: str | None = None


class RecentLogsPage(BaseModel):
    """Newest first. `source` is `database` (the records every process shipped) or `process`
    (the ring buffer of the process that answered, `pid`): asked for with scope=process, or in
    place of the database when it does not answer, which `degraded` then explains."""

    source: Literal["database", "process"]
    degraded: str | None
    items: list[LogRecord]
    # For the next page of the database's records (the ring is read in one page).
    next_cursor: str | None
    pid: int
    capacity: int
    held: int
