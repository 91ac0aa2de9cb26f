"""Detectors over the database's own views rather than the metrics history: statements that
became slow (pg_stat_statements, compared between two readings of the leader) and statements
that have been running far too long (pg_stat_activity). Pure functions of the readings in
`Signals`, so that tests feed them recorded ones."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from lifeceo.platform.monitor.detectors import Detection, span
from lifeceo.platform.monitor.signals import Signals, Totals

# The inputs that name a database view instead of a series of the metrics history.
STATEMENTS, ACTIVITY = "pg_stat_statements", "pg_stat_activity"
DATABASE_INPUTS = frozenset({STATEMENTS, ACTIVITY})
SLOW_QUERY, RUNAWAY_QUERY = "slow_query", "runaway_query"
# Enough of a statement's text in the evidence to recognise it; the plan reads the whole text.
EVIDENCE_QUERY_CHARS = 500
NEVER = Totals("", 0, 0.0)


@dataclass(kw_only=True)
class SlowQuery:
    """A statement slow in the interval between the leader's last two readings: run at least
    `min_calls` times, at a mean of at least `floor_ms` and, where its totals before the
    interval hold `min_history_calls` calls, at least `factor` times its own earlier mean. The
    totals since the server's reset would hide a recent step under months of fast calls, and a
    statement that was always as slow is not a new problem (it is the slowest-statements
    list's, GET /admin/statements)."""

    floor_ms: float
    min_calls: int
    factor: float
    min_history_calls: int
    # The evidence's window (its log records): the readings' interval is what is judged.
    window: timedelta
    name: str = SLOW_QUERY
    inputs: tuple[str, ...] = (STATEMENTS,)

    def evaluate(self, signals: Signals) -> list[Detection]:
        readings = signals.statements
        if readings is None or readings.previous is None:
            return []  # without pg_stat_statements, or the leader's first reading
        seconds = (readings.at - readings.previous_at).total_seconds()
        found = []
        for query_id, now in readings.current.items():
            before = readings.previous.get(query_id, NEVER)
            if now.calls < before.calls:
                before = NEVER  # its counters were reset (or evicted) since: all of it is new
            calls, total_ms = now.calls - before.calls, now.total_ms - before.total_ms
            if calls < self.min_calls or total_ms / calls < self.floor_ms:
                continue
            mean_ms = total_ms / calls
            earlier = before.mean_ms if before.calls >= self.min_history_calls else None
            if earlier is not None and mean_ms < self.factor * earlier:
                continue  # as slow as it has been: not a step
            found.append(Detection(
                self.name, str(query_id), "warning",
                f"a statement ran {calls} times in {span(timedelta(seconds=seconds))} at "
                f"{mean_ms:.0f} ms on average"
                + (f", {mean_ms / earlier:.1f} times its earlier {earlier:.0f} ms"
                   if earlier else ", with too little history to compare")
                + f": {' '.join(now.query.split())[:80]}",
                {"query_id": query_id, "query": now.query[:EVIDENCE_QUERY_CHARS],
                 "interval": {"from": readings.previous_at.isoformat(),
                              "to": readings.at.isoformat(), "seconds": seconds,
                              "calls": calls, "mean_ms": round(mean_ms, 3)},
                 "before": {"calls": before.calls, "mean_ms": round(before.mean_ms, 3),
                            "compared": earlier is not None},
                 "floor_ms": self.floor_ms, "factor": self.factor}))
        return found

    def baseline_of(self, signals: Signals) -> dict[str, Any]:
        """What it compared with, or why it compared nothing (its state in GET /detectors)."""
        readings = signals.statements
        if readings is None or readings.unavailable:
            return {"available": False,
                    "reason": readings.unavailable if readings else "pg_stat_statements not read"}
        if readings.previous is None:
            return {"available": True, "statements": len(readings.current),
                    "reason": "the leader's first reading: deltas from its next evaluation"}
        return {"available": True, "statements": len(readings.current),
                "previous_reading_at": readings.previous_at.isoformat(),
                "interval_seconds": (readings.at - readings.previous_at).total_seconds()}


@dataclass(kw_only=True)
class RunawayQuery:
    """A statement of this database's clients running past a hard limit: no request's statement
    can (database_statement_timeout_ms ends them), so one that does escaped the timeout (a
    psql session, a seed, a migration) and holds its locks, a connection and the vacuum
    horizon while it runs."""

    limit_seconds: float
    name: str = RUNAWAY_QUERY
    inputs: tuple[str, ...] = (ACTIVITY,)

    @property
    def window(self) -> timedelta:
        return timedelta(seconds=self.limit_seconds)

    def evaluate(self, signals: Signals) -> list[Detection]:
        found = []
        for backend in signals.activity or []:
            if backend.running_seconds < self.limit_seconds:
                continue
            found.append(Detection(
                self.name, str(backend.pid), "critical",
                f"backend {backend.pid} ({backend.application_name or 'no application name'})"
                f" has run one statement for {backend.running_seconds:.0f} s, past "
                f"{self.limit_seconds:.0f} s: {' '.join(backend.query.split())[:80]}",
                {"pid": backend.pid, "query_start": backend.query_start.isoformat(),
                 "running_seconds": round(backend.running_seconds, 3),
                 "query": backend.query[:EVIDENCE_QUERY_CHARS], "query_id": backend.query_id,
                 "application_name": backend.application_name, "user": backend.user,
                 "client": backend.client, "limit_seconds": self.limit_seconds}))
        return found
