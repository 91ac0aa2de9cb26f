"""Warnings and errors of every process into PostgreSQL (log_records), for GET /admin/logs and
the monitor's evidence: the logging call puts its record on a bounded queue and returns; a task
of the process writes the queue in batches, one multi-row INSERT each, every interval and when
the process stops.

What is lost, and when, each counted in lifeceo_log_records_dropped_total: past the queue's
bound (the database slow or down) new records are dropped (`queue_full`: the start of an
incident is worth more than its hundredth repetition); a batch the database cannot take is
retried each interval for log_ship_retry_seconds, then dropped (`database_unavailable`); one it
refuses is dropped at once (`rejected`); what the last flush of a stopping process could not
write (`shutdown`). Records logged while the shipper writes (its own warnings, the driver's) go
to stderr and the ring only: a failing database must not feed the shipper records about itself.
"""

import asyncio
import os
import socket
import time
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lifeceo.platform.db.errors import database_unavailable
from lifeceo.platform.observability import logs_models as columns
from lifeceo.platform.observability import logs_repository as repository
from lifeceo.platform.observability import metrics
from lifeceo.platform.observability.logs_queue import SHIP_QUEUE, shipping
from lifeceo.settings import Settings

log = structlog.get_logger(__name__)
NODE = socket.gethostname()[:columns.NODE_CHARS]


def _count_dropped(reason: str, records: int) -> None:
    if records and metrics.state["enabled"]:
        metrics.log_records_dropped.labels(reason).inc(records)


class LogShipper:
    """One per process (web worker: app lifespan; job worker: run_worker), started with
    `LogShipper.start` and stopped with `close`, which writes what is left."""

    def __init__(self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], *,
                 role: str) -> None:
        self.role = role[:columns.ROLE_CHARS]
        self.queue = SHIP_QUEUE
        self._sessionmaker = sessionmaker
        self._interval_seconds = settings.log_ship_interval_seconds
        self._batch_records = settings.log_ship_batch_max_records
        self._retry_seconds = settings.log_ship_retry_seconds
        # A batch the database did not take, since when it has been failing, and since when
        # the database has been unreachable (monotonic seconds).
        self._unsent: list[dict[str, Any]] = []
        self._batch_failing_since: float | None = None
        self._outage_since: float | None = None
        self._lock = asyncio.Lock()
        self._task: asyncio.Task | None = None
        # The queue's drops already counted in lifeceo_log_records_dropped_total.
        self._published_full = SHIP_QUEUE.dropped

    @classmethod
    def start(cls, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], *,
              role: str) -> "LogShipper | None":
        """A shipper flushing every interval in the running loop; None when shipping is off."""
        if not settings.log_ship_enabled:
            return None
        shipper = cls(settings, sessionmaker, role=role)
        SHIP_QUEUE.open(max_records=settings.log_ship_queue_max_records,
                        level=settings.log_ship_level)
        shipper._task = asyncio.get_running_loop().create_task(shipper._flush_periodically(),
                                                               name="log shipper")
        return shipper

    @property
    def pending(self) -> int:
        return len(self.queue) + len(self._unsent)

    async def close(self) -> None:
        """Stop flushing periodically, write what is waiting (one attempt), count the rest."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.flush(final=True)
        lost = len(self._unsent) + len(self.queue.close())
        self._unsent = []
        _count_dropped("shutdown", lost)
        if lost:
            log.warning("log records not shipped at shutdown", records=lost)

    async def flush(self, *, final: bool = False) -> int:
        """Write every waiting record, a batch per INSERT; returns how many were written. Stops
        at the database's first failure, keeping the batch for the next attempt. Never raises."""
        token = shipping.set(True)
        written, recovered = 0, False
        try:
            async with self._lock:
                while self._unsent or len(self.queue):
                    if not self._unsent:
                        self._unsent = [self._row(record)
                                        for record in self.queue.take(self._batch_records)]
                    try:
                        async with self._sessionmaker() as session:
                            await repository.write(session, self._unsent)
                            await session.commit()
                    except Exception as exc:  # noqa: BLE001 - never into the caller, never lost silently
                        if self._failed(exc, final=final):
                            break
                        continue
                    written += len(self._unsent)
                    self._unsent = []
                    recovered = recovered or self._outage_since is not None
                    self._outage_since = self._batch_failing_since = None
        finally:
            shipping.reset(token)
            self._publish(written)
        if recovered:  # outside the guard: the gap itself is worth a line in log_records
            log.warning("log records shipped again", dropped=self.queue.dropped)
        return written

    def _publish(self, written: int) -> None:
        full, self._published_full = self.queue.dropped - self._published_full, self.queue.dropped
        _count_dropped("queue_full", full)
        if metrics.state["enabled"]:
            metrics.log_ship_queue.set(self.pending)
            if written:
                metrics.log_records_shipped.inc(written)

    def _failed(self, exc: Exception, *, final: bool) -> bool:
        """Keep, or drop and count, the batch that failed; True: stop this flush."""
        if not (database_unavailable(exc) or isinstance(exc, PoolTimeout)):
            # A row the database refuses fails again: drop the batch, go on with the next.
            log.warning("log records refused by the database; dropped", records=len(self._unsent),
                        error=f"{type(exc).__name__}: {exc}"[:500])
            _count_dropped("rejected", len(self._unsent))
            self._unsent, self._batch_failing_since = [], None
            return False
        now = time.monotonic()
        if self._outage_since is None:  # once per outage, not per attempt
            self._outage_since = now
            log.warning("log records not shipped: the database is unreachable; retrying",
                        records=self.pending, retry_seconds=self._retry_seconds,
                        error=f"{type(exc).__name__}: {exc}"[:500])
        if self._batch_failing_since is None:
            self._batch_failing_since = now
        elif now - self._batch_failing_since >= self._retry_seconds and not final:
            _count_dropped("database_unavailable", len(self._unsent))
            self._unsent, self._batch_failing_since = [], None
        return True

    def _row(self, record: dict[str, Any]) -> dict[str, Any]:
        stamp = record.get("time")
        return {
            "time": stamp if isinstance(stamp, datetime) else datetime.now(UTC),
            "level": _text(record.get("level") or "warning", columns.LEVEL_CHARS),
            "logger": _text(record.get("logger"), columns.LOGGER_CHARS),
            "event": _text(record.get("event") or "", None),
            "request_id": _text(record.get("request_id"), columns.REQUEST_ID_CHARS),
            "trace_id": _text(record.get("trace_id"), columns.TRACE_ID_CHARS),
            "span_id": _text(record.get("span_id"), columns.SPAN_ID_CHARS),
            "node": NODE, "pid": os.getpid(), "role": self.role,
            "fields": _without_nul(record.get("fields") or {}),
        }

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._interval_seconds)
            await self.flush()


def _text(value: Any, limit: int | None) -> str | None:
    """As a column holds it: text without NUL (PostgreSQL refuses it), cut to the column."""
    if value is None:
        return None
    text = str(value).replace("\x00", "")
    return text if limit is None else text[:limit]


def _without_nul(value: Any) -> Any:
    """JSONB refuses \\u0000 anywhere, keys included."""
    if isinstance(value, dict):
        return {str(k).replace("\x00", ""): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, str):
        return value.replace("\x00", "")
    return value
