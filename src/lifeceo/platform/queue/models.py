"""Why jobs failed: procrastinate keeps a job's status and events, not its errors."""

from datetime import datetime

from sqlalchemy import BigInteger, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from lifeceo.platform.db.base import Base, IdMixin

# A message and the last frames of a traceback fit; a repr of a huge argument does not.
MAX_ERROR_CHARS = 4000


class JobFailure(IdMixin, Base):
    """One failed run. No foreign key: procrastinate's tables come after ours (0002), and the
    failures of a purged job are deleted with it."""

    __tablename__ = "job_failures"

    job_id: Mapped[int] = mapped_column(BigInteger)
    queue: Mapped[str] = mapped_column(String(128))
    job_name: Mapped[str] = mapped_column(String(128))
    # 1 for the first run.
    attempt: Mapped[int]
    error: Mapped[str] = mapped_column(String(MAX_ERROR_CHARS))
    failed_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        Index("ix_job_failures_job_id", "job_id"),
        Index("ix_job_failures_queue_failed_at", "queue", "failed_at"),
    )
