"""An incident's evidence at opening: the detector's points and figures, and beside them what
ran and what was logged in its window, so that the reader sees the whole story at once.

Request profiles, statement statistics and log records are every process's: the profiles those
of the processes that answer the leader's question within a wait (each keeps its own sample).
The statement statistics are pg_stat_statements' totals since the server's last reset, not the
window's: their key says so."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from lifeceo.platform.monitor import statement_actions
from lifeceo.platform.monitor.detectors import Detection
from lifeceo.platform.monitor.statement_detectors import SLOW_QUERY
from lifeceo.platform.observability import statements
from lifeceo.platform.observability.logs_service import log_service
from lifeceo.platform.observability.profiles_report import ProfileReport

log = structlog.get_logger(__name__)
# Detectors whose problem is made of SQL: their evidence names the statements.
ABOUT_STATEMENTS = frozenset({"slow_api_response", "error_burst", "event_loop_blocked",
                              "n_plus_one", "database_connection_slow", SLOW_QUERY})


@dataclass(frozen=True)
class RepeatedStatements:
    """Kept requests that repeated a fingerprint (the N+1 rule), newest first, from the
    `processes` whose samples answered."""

    requests: list[dict[str, Any]]
    processes: int

    def since(self, moment: datetime) -> list[dict[str, Any]]:
        return [request for request in self.requests
                if datetime.fromisoformat(request["started_at"]) > moment]


async def repeated_statements(profiles: ProfileReport | None, *, since: datetime,
                              limit: int) -> RepeatedStatements:
    """Every answering process's, within the report's wait; none without a report."""
    if profiles is None:
        return RepeatedStatements([], 0)
    try:
        found, answered = await profiles.repeated(since=since, limit=limit)
    except Exception as exc:  # noqa: BLE001 - evidence is best effort; the incident is not
        log.warning("repeated statements not gathered", error=f"{type(exc).__name__}: {exc}")
        return RepeatedStatements([], 0)
    return RepeatedStatements(found, answered)


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
                   max_statements: int, repeated: RepeatedStatements | None = None
                   ) -> dict[str, Any]:
    """The detector's evidence with the window's warnings and errors and, for problems made of
    SQL, the window's repeated statements (of `repeated`, gathered over a window at least as
    long) and the busiest since the statistics' reset."""
    since = now - window
    found: dict[str, Any] = {"detector": detection.evidence,
                             "window": {"from": since.isoformat(), "to": now.isoformat()}}
    records = await log_service.records(session=session, level="warning", since=since,
                                        limit=max_log_records)
    found["log_records"] = [record.model_dump(mode="json") for record in records]
    if detection.detector in ABOUT_STATEMENTS and max_statements:
        repeated = repeated or RepeatedStatements([], 0)
        found["repeated_statements"] = repeated.since(since)[:max_statements]
        found["repeated_statements_processes"] = repeated.processes
        found["statements_since_reset"] = await busiest_statements(engine,
                                                                   limit=max_statements)
    if detection.detector == SLOW_QUERY:
        # Its plan and a candidate index: suggest_index proposes it, an administrator decides.
        found["suggestion"] = await statement_actions.suggest(engine,
                                                              query_id=int(detection.label))
    return found
