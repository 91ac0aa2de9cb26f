"""The monitor's loop, started in every web process: every interval the one process holding the
monitor's leader lock (any process of any node) evaluates every detector; the others only try
for the lock, so that one whose leader died (its connection closed) takes over at its next
tick, within one interval, and one whose leader hung takes over once the lease runs out."""

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from lifeceo.platform.db.lease import Lease
from lifeceo.platform.monitor import actions as action_set
from lifeceo.platform.monitor import detectors as detector_set
from lifeceo.platform.monitor.actions import Levers
from lifeceo.platform.monitor.detectors import Detector
from lifeceo.platform.monitor.evaluation import Outcome, evaluate
from lifeceo.platform.monitor.own_levers import monitor_levers
from lifeceo.platform.monitor.statement_readings import DatabaseReadings
from lifeceo.platform.observability import metrics
from lifeceo.platform.observability.profiles_report import ProfileReport
from lifeceo.settings import Settings

log = structlog.get_logger(__name__)
# Beside the migration (0x11FEC0), stalled-job recovery (0x11FEC1) and metrics history
# (0x11FEC2) locks: the history's leader and the monitor's need not be the same process.
LEADER_LOCK_ID = 0x11FEC3
# The lock session dies after this many intervals without a ping.
LEASE_INTERVALS = 3


class Monitor:
    def __init__(self, settings: Settings, engine: AsyncEngine,
                 sessionmaker: async_sessionmaker[AsyncSession], *,
                 detectors: list[Detector] | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 paused: Callable[[], bool] | None = None,
                 levers: Levers | None = None, profiles: ProfileReport | None = None) -> None:
        """`paused`, asked every interval (the advanced-monitoring flag), stops evaluating and
        gives up the leader lock; `clock` is what an evaluation calls now; `levers`, the
        process's lever board, is what remediation pulls (none: the monitor only watches);
        `profiles`, where an incident's evidence finds every process's repeated statements."""
        self.settings = settings
        self.interval_seconds = settings.monitor_interval_seconds
        self.detectors = detectors if detectors is not None else detector_set.from_settings(
            settings)
        self.actions = action_set.catalogue(settings)
        # The flag rollback and the statement levers are the monitor's own, beside the board's.
        self.levers = levers if levers is None else monitor_levers(levers, engine, sessionmaker)
        self.profiles = profiles
        self._engine = engine
        self._sessionmaker = sessionmaker
        self._clock = clock
        self._paused = paused
        self.process = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.lease = Lease(settings, lock_id=LEADER_LOCK_ID, name="monitor",
                           application_name="lifeceo-monitor-leader",
                           ping_seconds=self.interval_seconds, lease_pings=LEASE_INTERVALS)
        # The leader's last evaluation, in memory (monitor_detectors has it for the others).
        self.last: Outcome | None = None
        # Its last pg_stat_statements reading, which the next one's deltas start from.
        self.readings = DatabaseReadings(
            max_statements=settings.monitor_slow_query_max_statements)
        self._failing: set[str] = set()
        self._task: asyncio.Task | None = None

    @property
    def is_leader(self) -> bool:
        return self.lease.held

    @classmethod
    def start(cls, settings: Settings, engine: AsyncEngine,
              sessionmaker: async_sessionmaker[AsyncSession], **kwargs) -> "Monitor":
        """A monitor ticking in the running loop until `close`."""
        monitor = cls(settings, engine, sessionmaker, **kwargs)
        monitor._task = asyncio.get_running_loop().create_task(monitor._tick())
        return monitor

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.resign()

    async def resign(self) -> None:
        """Release the leader lock now: another process takes over at its next tick."""
        await self.lease.release()
        metrics.monitor_leader.set(0)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.interval_seconds)
            if self._paused is not None and self._paused():
                await self.resign()
                continue
            await self.lead()

    async def lead(self) -> Outcome | None:
        """If this process is (or becomes) the leader, evaluate once; None if it is not."""
        was_leader = self.is_leader
        held = await self.lease.hold()
        metrics.monitor_leader.set(1 if held else 0)
        if held != was_leader:
            log.info("monitor leader" if held else "monitor follower", process=self.process)
            # Another leader's statements ran since its own last reading, if it had one.
            self.readings.forget()
        if not held:
            return None
        return await self.evaluate()

    async def evaluate(self) -> Outcome | None:
        """One evaluation now (the caller holds the lock); None if the database failed it."""
        started = time.perf_counter()
        try:
            outcome = await evaluate(settings=self.settings, detectors=self.detectors,
                                     engine=self._engine, sessionmaker=self._sessionmaker,
                                     now=self._clock(), leader=self.process,
                                     failing=self._failing, actions=self.actions,
                                     levers=self.levers, readings=self.readings,
                                     profiles=self.profiles)
        except Exception as exc:  # noqa: BLE001 - the database is down: retried next interval
            metrics.monitor_evaluations.labels("failed").inc()
            if "evaluate" not in self._failing:
                self._failing.add("evaluate")
                log.warning("monitor evaluation failing; retrying every interval",
                            error=str(exc) or type(exc).__name__)
            return None
        if "evaluate" in self._failing:
            self._failing.discard("evaluate")
            log.warning("monitor evaluation working again")
        metrics.monitor_evaluations.labels("ok").inc()
        metrics.monitor_evaluation_duration.observe(time.perf_counter() - started)
        self.last = outcome
        return outcome
