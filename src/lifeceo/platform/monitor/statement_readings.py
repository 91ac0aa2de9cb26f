"""The database views the statement detectors read, each evaluation: pg_stat_statements, whose
previous reading the leader keeps in memory to take deltas against, and pg_stat_activity."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from lifeceo.platform.monitor.signals import StatementReadings, Totals
from lifeceo.platform.observability import activity, statements
from lifeceo.platform.observability.activity import Backend


def totals(reading: statements.StatementsReading) -> dict[int, Totals]:
    """Calls and time per query id: one id has a row per role and for top-level and nested
    runs alike, and the interval's statement is all of them."""
    found: dict[int, Totals] = {}
    for stats in reading.statements:
        known = found.get(stats.query_id)
        found[stats.query_id] = Totals(stats.query, stats.calls, stats.total_ms) if known is None \
            else Totals(known.query, known.calls + stats.calls, known.total_ms + stats.total_ms)
    return found


class DatabaseReadings:
    """The leader's last pg_stat_statements reading. A process that becomes leader starts
    without one (`forget`), so it says nothing about statements before its second reading:
    another leader's reading, or its own from before it lost the lock, would make the interval
    someone else's."""

    def __init__(self, *, max_statements: int) -> None:
        self.max_statements = max_statements
        self._last: StatementReadings | None = None

    def forget(self) -> None:
        self._last = None

    async def statements(self, engine: AsyncEngine, *, at: datetime) -> StatementReadings:
        reading = await statements.read(engine, order="total_time", limit=self.max_statements)
        previous = self._last
        if not reading.available:
            self._last = None
            return StatementReadings(at=at, current={}, unavailable=reading.reason)
        self._last = StatementReadings(at=at, current=totals(reading))
        if previous is None:
            return self._last
        return StatementReadings(at=at, current=self._last.current, previous_at=previous.at,
                                 previous=previous.current)

    async def activity(self, engine: AsyncEngine) -> list[Backend]:
        return await activity.running(engine)
