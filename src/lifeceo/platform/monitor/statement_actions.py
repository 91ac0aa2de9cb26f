"""The monitor's own levers for statements, beside the board's: cancelling a runaway statement
(pg_cancel_backend) and accepting an index suggestion for a slow one. Both wait for an
administrator. Neither can be undone in any useful sense: a cancelled statement cannot be
resumed (its client saw an error and may run it again), and an accepted suggestion ran nothing
to take back: schema changes go through the migrations, which only ever grow."""

import re
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from lifeceo.errors import Conflict, NotFound, Unprocessable
from lifeceo.platform.monitor import repository
from lifeceo.platform.monitor.detectors import Detection
from lifeceo.platform.monitor.incidents import Known
from lifeceo.platform.monitor.models import PROCESS_CHARS
from lifeceo.platform.monitor.statement_detectors import SLOW_QUERY
from lifeceo.platform.observability import activity, plans, statements

log = structlog.get_logger(__name__)
CANCEL, INDEX = "cancel", "index"
ACCEPTED_NOTE = ("accepted: CREATE INDEX CONCURRENTLY ON {value}; the monitor runs no DDL: "
                 "add it in a new migration (statement {target})")
PID = re.compile(r"[1-9][0-9]{0,9}")
QUERY_ID = re.compile(r"-?[0-9]{1,20}")


def started_at(detection: Detection) -> str:
    """cancel_query's value: when the runaway statement started, so that only it is cancelled."""
    return str(detection.evidence.get("query_start", ""))


def candidate_index(detection: Detection) -> str:
    """suggest_index's value: the candidate index of the incident's plan, or "" (none)."""
    return (detection.evidence.get("suggestion") or {}).get("index") or ""


class QueryCancel:
    """pg_cancel_backend of one backend's statement: needs the database role to be a superuser,
    the statement's own role, or a member of pg_signal_backend."""

    name = CANCEL

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    def check(self, target: str, value: str) -> str:
        """`target` is the backend's pid, `value` when its statement started (ISO 8601)."""
        if not PID.fullmatch(target):
            raise Unprocessable(f"{target!r} is not a backend's pid.")
        try:
            datetime.fromisoformat(value)
        except ValueError:
            raise Unprocessable(f"{value!r} is not when a statement started.") from None
        return value

    async def pull(self, target: str, value: str, *, actor: str) -> None:
        started = datetime.fromisoformat(value)
        if not await activity.cancel(self._engine, pid=int(target), query_start=started):
            raise Conflict(f"Backend {target} no longer runs the statement started at {value}; "
                           "nothing was cancelled.")
        log.warning("monitor query cancelled", pid=int(target), query_start=value, actor=actor)

    async def undo(self, target: str, *, actor: str) -> None:
        log.info("a cancelled statement cannot be resumed; nothing to undo", pid=target,
                 actor=actor)


class IndexSuggestion:
    """Accepting a suggested index: logged and recorded on the action; no DDL is run."""

    name = INDEX

    def check(self, target: str, value: str) -> str:
        """`target` is the statement's query id, `value` the candidate (`schema.table (cols)`)."""
        if not QUERY_ID.fullmatch(target):
            raise Unprocessable(f"{target!r} is not a statement's query id.")
        if not value:
            raise NotFound("The statement's plan has no sequential scan whose filter an index "
                           "could serve.")
        return value

    async def pull(self, target: str, value: str, *, actor: str) -> None:
        log.warning("monitor index suggestion accepted", query_id=target, index=value,
                    actor=actor)

    async def undo(self, target: str, *, actor: str) -> None:
        pass  # nothing was applied


async def suggest(engine: AsyncEngine, *, query_id: int) -> dict[str, Any]:
    """A slow statement's plan and the index its costliest filtering sequential scan asks for,
    for the incident's evidence (best effort: the reason instead when there is none)."""
    try:
        query = await statements.text_of(engine, query_id)
        if query is None:
            return {"available": False, "reason": "pg_stat_statements has no such statement"}
        plan = await plans.explain(engine, query)
        if not plan.available:
            return {"available": False, "reason": plan.reason}
        scans = [plans.with_columns(scan, await plans.table_columns(
            engine, schema=scan.schema, relation=scan.relation))
            for scan in plans.seq_scans(plan.tree)]
    except Exception as exc:  # noqa: BLE001 - evidence is best effort; the incident is not
        return {"available": False, "reason": f"{type(exc).__name__}: {exc}"[:300]}
    # The action's value holds it: a longer one is left to the reader of the plan.
    index = next((scan.index for scan in scans
                  if scan.index and len(scan.index) <= PROCESS_CHARS), None)
    return {"available": True, "method": plan.method, "plan": plan.text,
            "seq_scans": [{"relation": f"{scan.schema}.{scan.relation}", "filter": scan.filter,
                           "rows": scan.rows, "cost": scan.cost, "columns": scan.columns}
                          for scan in scans],
            "index": index, "ddl": f"CREATE INDEX CONCURRENTLY ON {index};" if index else None,
            "applied": "never by the monitor: add the index in a new migration"}


async def with_suggestion(session: AsyncSession, detection: Detection,
                          known: Known) -> Detection:
    """A slow statement's detection with the suggestion of its incident's evidence, which
    suggest_index proposes."""
    if detection.detector != SLOW_QUERY:
        return detection
    incident = await repository.incident(session, known.id)
    suggestion = (incident.evidence or {}).get("suggestion") if incident else None
    if suggestion is None:
        return detection
    return Detection(detection.detector, detection.label, detection.severity,
                     detection.summary, {**detection.evidence, "suggestion": suggestion})
