"""An incident's evidence at opening: the detector's points and figures, and beside them what
ran and what was logged in its window, so that the reader sees the whole story at once.

Request profiles are the leader's own process's sample (each process keeps its own); statement
statistics and log records are every process's. The statement statistics are pg_stat_statements'
totals since the server's last reset, not the window's: their key says so."""

from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from lifeceo.platform.monitor import statement_actions
from lifeceo.platform.monitor.detectors import Detection
from lifeceo.platform.monitor.statement_detectors import SLOW_QUERY
from lifeceo.platform.observability import statements
from lifeceo.platform.observability.logs_service import log_service
from lifeceo.platform.observability.profiles import PROFILES

log = structlog.get_logger(__name__)
# Detectors whose problem is made of SQL: their evidence names the statements.
ABOUT_STATEMENTS = frozenset({"slow_api_response", "error_burst", "event_loop_blocked",
                              "n_plus_one", "database_connection_slow", SLOW_QUERY})


def repeated_statements(*, since: datetime, limit: int) -> list[dict[str, Any]]:
    """Kept requests of this process that repeated a fingerprint (the N+1 rule), newest first."""
    found = []
    for profile, repeated in PROFILES.repeated_statements(since=since)[:limit]:
        found.append({"request_id": profile.request_id, "route": profile.route,
                      "status": profile.status, "duration_ms": round(profile.duration_ms, 3),
                      "statements": [{"fingerprint": stats.fingerprint, "count": stats.count,
                                      "total_ms": stats.total_ms} for stats in repeated]})
    return found


async def busiest_statements(engine: AsyncEngine, *, limit: int) -> dict[str, Any]:
    """Every process's statements by total time since the server's reset, or why there are none."""
    try:
        reading = await statements.read(engine, order="total_time", limit=limit)
    except Exception as exc:  # noqa: BLE001 - evidence is best effort; the incident is not
        return {"available": False, "reason": f"{type(exc).__name__}: {exc}"[:300]}
    return {"available": reading.available, "reason": reading.reason,
            "statements": [{"query": stats.query[:500], "calls": stats.calls,
                            "total_ms": round(stats.total_ms, 3),
                            "mean_ms": round(stats.mean_ms, 3)}
                           for stats in reading.statements]}


async def snapshot(detection: Detection, *, session: AsyncSession, engine: AsyncEngine,
                   now: datetime, window: timedelta, max_log_records: int,
                   max_statements: int) -> dict[str, Any]:
    """The detector's evidence with the window's warnings and errors and, for problems made of
    SQL, the window's repeated statements and the busiest since the statistics' reset."""
    since = now - window
    found: dict[str, Any] = {"detector": detection.evidence,
                             "window": {"from": since.isoformat(), "to": now.isoformat()}}
    records = await log_service.records(session=session, level="warning", since=since,
                                        limit=max_log_records)
    found["log_records"] = [record.model_dump(mode="json") for record in records]
    if detection.detector in ABOUT_STATEMENTS and max_statements:
        found["repeated_statements"] = repeated_statements(since=since, limit=max_statements)
        found["statements_since_reset"] = await busiest_statements(engine,
                                                                   limit=max_statements)
    if detection.detector == SLOW_QUERY:
        # Its plan and a candidate index: suggest_index proposes it, an administrator decides.
        found["suggestion"] = await statement_actions.suggest(engine,
                                                              query_id=int(detection.label))
    return found
