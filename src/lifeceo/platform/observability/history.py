"""The metrics history sampler, one per web process. Every interval (aligned to the wall clock,
so that all processes on all nodes agree on which interval is which) it stages this process's
counts as one row; half an interval later, the one process holding the leader lock aggregates
the staged rows of the completed intervals into the series (lifeceo.platform.observability.
history_series) and deletes them.

Leadership is a session advisory lock on a connection of its own (lifeceo.platform.db.lease),
which runs with idle_session_timeout at a few intervals and is pinged every interval, so a
leader that hangs or whose node vanishes loses the lock within that time instead of the hours
TCP takes to notice; any process then takes over at its next tick, and aggregates what was
staged meanwhile. Two leaders for a moment (the old one has not noticed yet) cannot double
count: the staged rows are locked while aggregated and deleted in the same transaction, and an
interval's samples are written once (their key)."""

import asyncio
import math
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import psutil
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from lifeceo.platform.cache.stats import CacheStats
from lifeceo.platform.db.lease import Lease
from lifeceo.platform.observability import history_repository as repository
from lifeceo.platform.observability import loop_lag, outgoing
from lifeceo.platform.observability.clients import BUSIEST_CLIENTS
from lifeceo.platform.observability.history_aggregate import (
    QueueReading,
    aggregate,
    queue_points,
)
from lifeceo.platform.observability.metrics_db import STATEMENTS
from lifeceo.platform.observability.rum import RumWindow, default_rum_window, rum_delta
from lifeceo.platform.observability.rum import Totals as RumTotals
from lifeceo.platform.observability.window import RequestWindow, default_window, delta
from lifeceo.platform.queue import QUEUES
from lifeceo.platform.queue import repository as queue_repository
from lifeceo.settings import Settings

log = structlog.get_logger(__name__)
# Beside the migration (0x11FEC0) and stalled-job recovery (0x11FEC1) locks.
LEADER_LOCK_ID = 0x11FEC2
# Event-loop lag and pool use are read this often; a sleep of 0.5 s costs nothing.
PROBE_SECONDS = 0.5
# The lock session dies after this many intervals without a ping.
LEASE_INTERVALS = 3


class HistorySampler:
    def __init__(self, settings: Settings, engine: AsyncEngine,
                 sessionmaker: async_sessionmaker[AsyncSession], *,
                 window: RequestWindow | None = None, cache_stats: CacheStats | None = None,
                 rum: RumWindow | None = None,
                 clock: Callable[[], float] = time.time,
                 paused: Callable[[], bool] | None = None,
                 dependencies: Callable[[], dict[str, bool]] | None = None,
                 cache_round_trip: Callable[[], Awaitable[float | None]] | None = None) -> None:
        """`paused`, asked every interval, stops sampling at runtime (the advanced-monitoring
        flag): nothing is staged or aggregated, and the leader lock is given up.
        `dependencies`, asked every interval, says which of this process's dependencies answer
        (name -> up); one deliberately held off by a lever is left out. `cache_round_trip`
        measures a round trip of the cache's Redis every interval (None: none to measure)."""
        self.interval_seconds = settings.metrics_history_interval_seconds
        self._paused = paused
        self._raw_retention = timedelta(hours=settings.metrics_history_raw_retention_hours)
        self._pool = engine.sync_engine.pool
        self._pool_capacity = settings.database_pool_size + settings.database_pool_overflow
        self._sessionmaker = sessionmaker
        self._window = window or default_window()
        self._rum = rum or default_rum_window()
        self._cache_stats = cache_stats
        self._clock = clock
        self._dependencies = dependencies
        self._cache_round_trip = cache_round_trip
        self.lease = Lease(settings, lock_id=LEADER_LOCK_ID, name="metrics history",
                           application_name="lifeceo-metrics-leader",
                           ping_seconds=self.interval_seconds, lease_pings=LEASE_INTERVALS)
        self._os_process = psutil.Process()
        self.process = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._before = self._window.totals()
        self._cache_before = self._cache_totals()
        self._statements_before = STATEMENTS.snapshot()
        self._outgoing_before = outgoing.OUTGOING.snapshot()
        self._rum_before = self._rum.totals()
        self._reset_probes()
        self._tasks: list[asyncio.Task] = []
        self._failing: set[str] = set()

    @classmethod
    def start(cls, settings: Settings, engine: AsyncEngine,
              sessionmaker: async_sessionmaker[AsyncSession], **kwargs) -> "HistorySampler":
        """A sampler ticking in the running loop until `close`."""
        sampler = cls(settings, engine, sessionmaker, **kwargs)
        loop = asyncio.get_running_loop()
        sampler._tasks = [loop.create_task(sampler._tick()), loop.create_task(sampler._probe())]
        return sampler

    async def close(self) -> None:
        """Stop ticking, stage what this interval counted so far, give up the leader lock."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.flush(interval_start=self._interval_of(self._clock()))
        await self.resign()

    @property
    def is_leader(self) -> bool:
        return self.lease.held

    async def resign(self) -> None:
        """Release the leader lock and close its connection."""
        await self.lease.release()

    def _interval_of(self, now: float) -> float:
        return math.floor(now / self.interval_seconds) * self.interval_seconds

    async def _tick(self) -> None:
        while True:
            boundary = self._interval_of(self._clock()) + self.interval_seconds
            await asyncio.sleep(max(0.0, boundary - self._clock()))
            if self._paused is not None and self._paused():
                # What this interval counted is dropped, not carried into the next staged row.
                self._before, self._cache_before = self._window.totals(), self._cache_totals()
                self._statements_before = STATEMENTS.snapshot()
                self._outgoing_before = outgoing.OUTGOING.snapshot()
                BUSIEST_CLIENTS.take()
                self._rum_before = self._rum.totals()
                self._reset_probes()
                await self.resign()
                continue
            await self.flush(interval_start=boundary - self.interval_seconds)
            await asyncio.sleep(max(0.0, boundary + self.interval_seconds / 2 - self._clock()))
            await self.lead(until=boundary)

    async def _probe(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(PROBE_SECONDS)
            lag = max(0.0, loop.time() - started - PROBE_SECONDS)
            self._lag_max = max(self._lag_max, lag)
            self._lag_sum += lag
            self._probes += 1
            checked_out = self._checked_out()
            self._pool_sum += checked_out
            self._pool_max = max(self._pool_max, checked_out)

    def _checked_out(self) -> int:
        checkedout = getattr(self._pool, "checkedout", None)
        return checkedout() if checkedout is not None else 0

    def _reset_probes(self) -> None:
        self._lag_max = self._lag_sum = 0.0
        self._probes = self._pool_sum = self._pool_max = 0

    def _cache_totals(self) -> dict[str, tuple[int, int]]:
        return self._cache_stats.lookup_totals() if self._cache_stats is not None else {}

    def payload(self, after: dict, cache_after: dict[str, tuple[int, int]],
                statements_after: tuple[int, float, int], *, round_trip_seconds: float,
                outgoing_after: dict[str, tuple[int, float, int]], rum_after: RumTotals,
                cache_round_trip_seconds: float | None = None) -> dict:
        """This process's counts since the last successful flush, and its readings."""
        cache: dict[str, list[int]] = {}
        for namespace, (lookups, hits) in cache_after.items():
            old_lookups, old_hits = self._cache_before.get(namespace, (0, 0))
            if lookups < old_lookups:  # the stats were reset: count from zero
                old_lookups = old_hits = 0
            if lookups > old_lookups:
                cache[namespace] = [lookups - old_lookups, hits - old_hits]
        probes = self._probes
        if probes == 0:  # an interval shorter than a probe: read the pool once
            pool_mean = pool_max = self._checked_out()
        else:
            pool_mean, pool_max = self._pool_sum / probes, self._pool_max
        count, seconds, errors = (now - then for now, then in zip(
            statements_after, self._statements_before, strict=True))
        return {
            "http": delta(self._before, after),
            "cache": cache,
            "pool": {"mean_checked_out": pool_mean, "max_checked_out": pool_max,
                     "capacity": self._pool_capacity},
            "loop_lag": {"max": self._lag_max, "sum": self._lag_sum, "count": probes},
            "rss_bytes": self._os_process.memory_info().rss,
            "db": {"round_trip_seconds": round_trip_seconds, "statements": count,
                   "statement_seconds": seconds, "errors": errors},
            "dependencies": self._dependencies() if self._dependencies is not None else {},
            "outgoing": outgoing.delta(self._outgoing_before, outgoing_after),
            "cache_round_trip_seconds": cache_round_trip_seconds,
            # Taken, not diffed: a failed flush loses one interval's reading of them.
            "clients": BUSIEST_CLIENTS.take(),
            "rum": rum_delta(self._rum_before, rum_after),
        }

    async def flush(self, *, interval_start: float) -> bool:
        """Stage one row for the interval; on failure its counts go with the next one. The row
        carries a measured round trip: a pooled connection's checkout and a SELECT 1, less the
        time the event loop was busy meanwhile (that is this process's lag, not the database's)."""
        # Before the database's connection is taken: a slow Redis must not hold one.
        cache_trip = await self._cache_round_trip() if self._cache_round_trip else None
        after, cache_after = self._window.totals(), self._cache_totals()
        statements_after = STATEMENTS.snapshot()
        outgoing_after = outgoing.OUTGOING.snapshot()
        rum_after = self._rum.totals()
        try:
            async with self._sessionmaker() as session:
                started = time.monotonic()
                await session.execute(text("SELECT 1"))
                payload = self.payload(after, cache_after, statements_after,
                                       round_trip_seconds=loop_lag.on_time_since(started),
                                       outgoing_after=outgoing_after, rum_after=rum_after,
                                       cache_round_trip_seconds=cache_trip)
                await repository.stage(session, interval_start=_utc(interval_start),
                                       process=self.process, payload=payload)
                await session.commit()
        except Exception as exc:  # noqa: BLE001 - the database is down: keep counting, retry
            self._failed("flush", exc)
            return False
        self._recovered("flush")
        self._before, self._cache_before = after, cache_after
        self._statements_before = statements_after
        self._outgoing_before = outgoing_after
        self._rum_before = rum_after
        self._reset_probes()
        return True

    async def lead(self, *, until: float) -> bool:
        """If this process is (or becomes) the leader, aggregate the staged intervals that
        started before `until`; returns whether it led."""
        was_leader = self.is_leader
        if not await self.lease.hold():
            return False
        if not was_leader:
            log.info("metrics history leader", process=self.process)
        try:
            async with self._sessionmaker() as session, session.begin():
                await self._aggregate(session, until=until)
        except Exception as exc:  # noqa: BLE001 - retried next tick; staged rows stay
            self._failed("aggregate", exc)
            return True
        self._recovered("aggregate")
        return True

    async def _aggregate(self, session: AsyncSession, *, until: float) -> None:
        rows = await repository.take_staged(session, until=_utc(until))
        by_interval: dict[datetime, list[dict]] = {}
        for row in rows:
            by_interval.setdefault(row.interval_start, []).append(row.payload)
        latest = _utc(until - self.interval_seconds)
        # Rows of an interval already written were flushed late (a stalled process): their
        # counts go with the latest interval, so that no request is lost or counted twice; their
        # readings (RSS, lag, pool) describe a past interval and are dropped.
        carried: list[dict] = []
        for ts in await repository.written_intervals(session, list(by_interval)):
            if ts != latest:
                carried += by_interval.pop(ts)
        oldest_kept = datetime.now(UTC) - self._raw_retention
        depths = await queue_repository.queue_depths(session)
        readings = [QueueReading(row.queue, row.waiting, row.oldest_waiting_seconds or 0.0)
                    for row in depths]
        by_interval.setdefault(latest, [])
        for ts, payloads in sorted(by_interval.items()):
            if ts < oldest_kept:
                continue
            late = carried if ts == latest else []
            points, histograms = ([], {}) if not payloads and not late else aggregate(
                payloads, carried=late, interval_seconds=self.interval_seconds)
            if ts == latest:  # the queues as they are now: past depths are unknowable
                points += queue_points(readings, QUEUES)
            written = await repository.write_points(session, ts=ts, points=points)
            if (payloads or late) and written == 0:
                log.warning("metrics interval written twice; rows dropped", ts=ts.isoformat(),
                            rows=len(payloads) + len(late))
            await repository.write_histograms(session, ts=ts, histograms=histograms)
        if rows:
            await repository.delete_staged(session, [row.id for row in rows])

    def _failed(self, what: str, exc: Exception) -> None:
        if what not in self._failing:
            self._failing.add(what)
            log.warning(f"metrics history {what} failing; retrying every interval",
                        error=str(exc) or type(exc).__name__)

    def _recovered(self, what: str) -> None:
        if what in self._failing:
            self._failing.discard(what)
            log.warning(f"metrics history {what} working again")


def _utc(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)
