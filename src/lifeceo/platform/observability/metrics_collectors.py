"""Figures read when Prometheus scrapes: the queues (shared state in PostgreSQL, so any worker
may report them) and the build."""

import asyncio
import platform
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import structlog
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from lifeceo.platform.queue import repository
from lifeceo.platform.queue.queues import QUEUES

log = structlog.get_logger(__name__)
# The window of the admin API's queue report, so that both say the same.
FAILED_WINDOW_SECONDS = 900


@dataclass
class QueueFigures:
    rows: dict[str, Any] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    read_at: float = float("-inf")
    ok: bool = False


class QueueSnapshot:
    """Queue counts read from PostgreSQL at most once per `max_age_seconds` per process;
    concurrent scrapes share one read."""

    def __init__(self, engine: AsyncEngine, *, max_age_seconds: float) -> None:
        self.engine = engine
        self.max_age_seconds = max_age_seconds
        self.figures = QueueFigures()
        self._lock = asyncio.Lock()
        self._failing = False

    async def refresh(self) -> QueueFigures:
        if time.monotonic() - self.figures.read_at < self.max_age_seconds:
            return self.figures
        async with self._lock:
            if time.monotonic() - self.figures.read_at < self.max_age_seconds:
                return self.figures
            self.figures = await self._read()
        return self.figures

    async def _read(self) -> QueueFigures:
        try:
            async with AsyncSession(self.engine) as session:
                rows = {row.queue: row for row in await repository.queue_depths(session)}
                failed = await repository.recent_failures(
                    session, window_seconds=FAILED_WINDOW_SECONDS)
        except (SQLAlchemyError, OSError) as exc:
            # Logged on the change only: a scrape every 15 s must not add a line each time.
            if not self._failing:
                log.warning("queue metrics unavailable", error=f"{type(exc).__name__}: {exc}")
            self._failing = True
            return QueueFigures(read_at=time.monotonic(), ok=False)
        self._failing = False
        return QueueFigures(rows=rows, failed=failed, read_at=time.monotonic(), ok=True)


class QueueCollector(Collector):
    """Every queue, with zeros for the idle ones, so that each series exists from the start."""

    def __init__(self, figures: QueueFigures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        if not self.figures.ok:
            return
        families = {
            "waiting": GaugeMetricFamily("lifeceo_queue_depth", "Jobs due and waiting to start.",
                                         labels=["queue"]),
            "scheduled": GaugeMetricFamily("lifeceo_queue_scheduled",
                                           "Jobs scheduled for later.", labels=["queue"]),
            "running": GaugeMetricFamily("lifeceo_queue_running", "Jobs running now.",
                                         labels=["queue"]),
            "dead": GaugeMetricFamily("lifeceo_queue_dead",
                                      "Dead letters: jobs out of retries.", labels=["queue"]),
            "oldest_waiting_seconds": GaugeMetricFamily(
                "lifeceo_queue_oldest_waiting_seconds",
                "How long the oldest due job has waited (0 when none waits).", labels=["queue"]),
        }
        failed = GaugeMetricFamily(
            "lifeceo_queue_failed_runs_recent",
            f"Failed runs in the last {FAILED_WINDOW_SECONDS} s, every worker and node.",
            labels=["queue"])
        for queue in QUEUES:
            row = self.figures.rows.get(queue)
            for column, family in families.items():
                value = getattr(row, column, None) if row is not None else None
                family.add_metric([queue], float(value or 0))
            failed.add_metric([queue], float(self.figures.failed.get(queue, 0)))
        yield from families.values()
        yield failed


def _version() -> str:
    try:
        return version("lifeceo")
    except PackageNotFoundError:
        return "unknown"


class BuildInfoCollector(Collector):
    def __init__(self) -> None:
        self._labels = {"version": _version(), "python": platform.python_version(),
                        "implementation": platform.python_implementation()}

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily("lifeceo_build_info", "Always 1; the labels say what runs.",
                                 labels=list(self._labels))
        info.add_metric(list(self._labels.values()), 1.0)
        yield info
