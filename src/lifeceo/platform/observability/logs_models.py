"""The table of shipped log records: the warnings and errors of every process, one row each."""

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from lifeceo.platform.db.base import Base, IdMixin

# Column sizes, which the shipper cuts values to: one oversized value must not fail its batch.
LEVEL_CHARS = 16
LOGGER_CHARS = 200
# RequestContextMiddleware accepts request ids of up to 128 characters; W3C ids are hex.
REQUEST_ID_CHARS = 128
TRACE_ID_CHARS = 32
SPAN_ID_CHARS = 16
# A host name is at most 253 characters (RFC 1035).
NODE_CHARS = 255
ROLE_CHARS = 16


class LogRecordRow(IdMixin, Base):
    """One warning or worse of one process, scrubbed as GET /admin/logs shows it. `id` is the
    arrival order, which the row cap deletes by; `time` is when the process logged it."""

    __tablename__ = "log_records"
    __table_args__ = (
        # An incident's evidence and an operator look a request or a trace up.
        Index("ix_log_records_request_id", "request_id"),
        Index("ix_log_records_trace_id", "trace_id"),
        # "errors since 14:02", newest first.
        Index("ix_log_records_level_time", "level", "time"),
        # Newest first without a filter, keyset pages on (time, id), and the retention delete.
        Index("ix_log_records_time_id", "time", "id"),
    )

    time: Mapped[datetime]
    level: Mapped[str] = mapped_column(String(LEVEL_CHARS))
    logger: Mapped[str | None] = mapped_column(String(LOGGER_CHARS))
    event: Mapped[str] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(REQUEST_ID_CHARS))
    trace_id: Mapped[str | None] = mapped_column(String(TRACE_ID_CHARS))
    span_id: Mapped[str | None] = mapped_column(String(SPAN_ID_CHARS))
    node: Mapped[str] = mapped_column(String(NODE_CHARS))
    pid: Mapped[int] = mapped_column(Integer)
    # web (an API worker), worker (a job worker).
    role: Mapped[str] = mapped_column(String(ROLE_CHARS))
    fields: Mapped[dict] = mapped_column(JSONB)
