"""The last warnings and errors of this process, kept in memory for GET /admin/logs: the JSON
lines on stderr stay the record of everything; this answers "what went wrong in request X"
without a log pipeline. Each process (web worker, job worker) has its own."""

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import orjson
import structlog

from lifeceo.platform.observability.scrub import scrub

# structlog's level names, in order; a query for one includes those above it.
LEVELS = ("debug", "info", "warning", "error", "critical")
# Keys every record has a field of its own for; the rest go to `fields`.
COLUMNS = ("timestamp", "level", "logger", "event", "request_id", "trace_id", "span_id")


class RecentLogs:
    """A bounded ring of structured records, oldest dropped first; safe across threads."""

    def __init__(self, max_records: int = 1000) -> None:
        self._records: deque[dict[str, Any]] = deque(maxlen=max_records)
        self._lock = threading.Lock()

    @property
    def capacity(self) -> int:
        return self._records.maxlen or 0

    def __len__(self) -> int:
        return len(self._records)

    def resize(self, max_records: int) -> None:
        with self._lock:
            if max_records != self._records.maxlen:
                self._records = deque(self._records, maxlen=max_records)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def append(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._records.append(record)

    def query(self, *, request_id: str | None = None, trace_id: str | None = None,
              level: str | None = None, since: datetime | None = None,
              until: datetime | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Newest first: records of the request or trace, at `level` or above, after `since`
        and before `until`."""
        floor = LEVELS.index(level) if level else 0
        with self._lock:
            records = list(self._records)
        found = []
        for record in reversed(records):
            if len(found) >= limit:
                break
            if request_id is not None and record["request_id"] != request_id:
                continue
            if trace_id is not None and record["trace_id"] != trace_id:
                continue
            if level_rank(record["level"]) < floor:
                continue
            if since is not None and (record["time"] is None or record["time"] <= since):
                continue
            if until is not None and (record["time"] is None or record["time"] >= until):
                continue
            found.append(record)
        return found


RECENT_LOGS = RecentLogs()


class RecentLogsHandler(logging.Handler):
    """Copies each warning-or-worse record, after the same processors as the log line (trace ids
    added), into a RecentLogs, scrubbed as error reports are: the API shows it to people, and
    an exception's text may quote an email or a password. Each record is also handed to `ship`
    (the log shipper's queue, logs_queue.py), which must not block or raise."""

    def __init__(self, buffer: RecentLogs, shared_processors: Sequence[Any],
                 ship: Callable[[dict[str, Any]], None]) -> None:
        super().__init__(level=logging.WARNING)
        self.buffer = buffer
        self.ship = ship
        self.setFormatter(structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared_processors, structlog.stdlib.ExtraAdder()],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                        structlog.processors.format_exc_info,
                        # JSON and back: what is kept is plain data, whatever was logged.
                        structlog.processors.JSONRenderer()]))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            structured = _structured(scrub(orjson.loads(self.format(record))))
            self.buffer.append(structured)
            self.ship(structured)
        except Exception:  # noqa: BLE001 - logging must never raise into the caller
            self.handleError(record)


def _structured(entry: dict[str, Any]) -> dict[str, Any]:
    stamp = entry.get("timestamp")
    return {
        "time": datetime.fromisoformat(stamp) if isinstance(stamp, str) else None,
        "level": entry.get("level", "warning"),
        "logger": entry.get("logger"),
        "event": str(entry.get("event", "")),
        "request_id": entry.get("request_id"),
        "trace_id": entry.get("trace_id"),
        "span_id": entry.get("span_id"),
        "fields": {key: value for key, value in entry.items() if key not in COLUMNS},
    }


def level_rank(level: str) -> int:
    """A level's place in LEVELS; an unknown name counts as a warning."""
    return LEVELS.index(level) if level in LEVELS else LEVELS.index("warning")
