"""The recent-logs buffer: bounded, filtered, and fed only warnings and worse."""

import logging
from datetime import UTC, datetime, timedelta

import structlog

from lifeceo.platform.observability.logging import configure_logging
from lifeceo.platform.observability.recent import RECENT_LOGS, RecentLogs


def _record(n: int, *, level: str = "warning", request_id: str | None = None,
            trace_id: str | None = None, time: datetime | None = None) -> dict:
    return {"time": time or datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=n),
            "level": level, "logger": "t", "event": f"e{n}", "request_id": request_id,
            "trace_id": trace_id, "span_id": None, "fields": {}}


def test_the_oldest_records_go_first_and_a_resize_keeps_the_newest():
    buffer = RecentLogs(max_records=3)
    for n in range(5):
        buffer.append(_record(n))
    assert [r["event"] for r in buffer.query()] == ["e4", "e3", "e2"]
    buffer.resize(2)
    assert [r["event"] for r in buffer.query()] == ["e4", "e3"] and buffer.capacity == 2


def test_queries_filter_by_request_trace_level_and_time_newest_first():
    buffer = RecentLogs()
    buffer.append(_record(1, request_id="a", trace_id="t1"))
    buffer.append(_record(2, request_id="b", level="error", trace_id="t1"))
    buffer.append(_record(3, request_id="a", level="critical"))
    assert [r["event"] for r in buffer.query(request_id="a")] == ["e3", "e1"]
    assert [r["event"] for r in buffer.query(trace_id="t1")] == ["e2", "e1"]
    assert [r["event"] for r in buffer.query(level="error")] == ["e3", "e2"]
    assert [r["event"] for r in buffer.query(level="critical", request_id="b")] == []
    since = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=1)
    assert [r["event"] for r in buffer.query(since=since)] == ["e3", "e2"]
    assert [r["event"] for r in buffer.query(limit=1)] == ["e3"]


def test_warnings_are_kept_structured_and_scrubbed_and_info_is_not():
    handlers, capacity = logging.getLogger().handlers[:], RECENT_LOGS.capacity
    configure_logging(log_format="console", recent_max_records=50)
    RECENT_LOGS.clear()
    try:
        log = structlog.get_logger("lifeceo.test")
        structlog.contextvars.bind_contextvars(request_id="req-7")
        log.info("just so")
        log.warning("mail refused", to="ana@example.org", password="hunter2hunter2",
                    attempt=2)
        logging.getLogger("uvicorn.error").error("from the standard library")
    finally:
        structlog.contextvars.clear_contextvars()
        logging.getLogger().handlers[:] = handlers
    records = RECENT_LOGS.query()
    assert [r["event"] for r in records] == ["from the standard library", "mail refused"]
    warning = records[1]
    assert (warning["level"], warning["logger"], warning["request_id"]) == (
        "warning", "lifeceo.test", "req-7")
    assert warning["fields"] == {"to": "[email]", "password": "[Filtered]", "attempt": 2}
    assert warning["time"].tzinfo is not None
    assert records[0]["logger"] == "uvicorn.error" and records[0]["level"] == "error"
    assert RECENT_LOGS.capacity == 50
    RECENT_LOGS.resize(capacity)
