"""The shapes of GET /admin/logs."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

LogLevel = Literal["warning", "error", "critical"]


class LogRecord(BaseModel):
    time: datetime | None
    level: str
    logger: str | None
    event: str
    request_id: str | None
    trace_id: str | None
    span_id: str | None
    fields: dict[str, Any]


class RecentLogsPage(BaseModel):
    """Newest first, from the buffer of the process that answered (`pid`)."""

    items: list[LogRecord]
    pid: int
    capacity: int
    held: int
