"""Per-process figures copied into the metrics periodically: the event-loop lag, the pool, the
cache's own counters and breaker, and the process's memory, CPU, file descriptors and GC.

The cache already counts hits and misses (platform/cache/stats.py); rather than count them a
second time on the request path, its cumulative counters are mirrored here as increments. A
scrape only runs in one worker, so each process must publish its own figures to the shared
metric files: this is done every LIFECEO_METRICS_SAMPLE_INTERVAL_SECONDS, and by the scraped
process itself just before it answers."""

import asyncio
import gc
import os
from typing import Any

import psutil
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from lifeceo.platform.observability import metrics
from lifeceo.platform.observability.metrics_db import sample_pool

log = structlog.get_logger(__name__)
BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}
CACHE_COUNTERS = {"hits": metrics.cache_hits, "misses": metrics.cache_misses,
                  "evictions": metrics.cache_evictions, "errors": metrics.cache_errors}


class CounterMirror:
    """Turns cumulative figures kept elsewhere into counter increments. A figure that went down
    was reset at its source: what it counts now is all new."""

    def __init__(self) -> None:
        self._last: dict[tuple[int, tuple[str, ...]], float] = {}

    def update(self, counter: Any, labels: tuple[str, ...], value: float) -> None:
        key = (id(counter), labels)
        last = self._last.get(key)
        child = counter.labels(*labels) if labels else counter
        if last is None:
            last = 0.0  # first sight: the series exists from now on, at 0 if nothing happened
        increment = value - last if value >= last else value
        self._last[key] = value
        if increment > 0:
            child.inc(increment)


class _ProcessFigures:
    """This process's memory, CPU, descriptors and GC (one per process: a test may run several
    apps in one process, and CPU time must not be counted once per app)."""

    def __init__(self) -> None:
        self._mirror = CounterMirror()
        self._process: psutil.Process | None = None
        self._pid = -1

    def sample(self) -> None:
        if self._pid != os.getpid():  # a fork (never under serve, which spawns) starts afresh
            self._process, self._pid, self._mirror = psutil.Process(), os.getpid(), CounterMirror()
        process = self._process
        with process.oneshot():
            metrics.process_rss.set(process.memory_info().rss)
            cpu = process.cpu_times()
            metrics.process_open_fds.set(process.num_fds())
        self._mirror.update(metrics.process_cpu, (), cpu.user + cpu.system)
        for generation, stats in enumerate(gc.get_stats()):
            self._mirror.update(metrics.gc_collections, (str(generation),), stats["collections"])
            self._mirror.update(metrics.gc_collected, (str(generation),), stats["collected"])


_process_figures = _ProcessFigures()


class ProcessMetrics:
    """Started in each process's lifespan (web worker, job worker), closed when it stops."""

    def __init__(self, *, engine: AsyncEngine | None, cache: Any | None,
                 sample_interval_seconds: float, lag_interval_seconds: float) -> None:
        self.engine = engine
        self.cache = cache
        self.sample_interval_seconds = sample_interval_seconds
        self.lag_interval_seconds = lag_interval_seconds
        self._cache_mirror = CounterMirror()
        self._tasks: list[asyncio.Task] = []

    @classmethod
    def from_settings(cls, settings: Any, *, engine: AsyncEngine | None,
                      cache: Any | None) -> "ProcessMetrics":
        return cls(engine=engine, cache=cache,
                   sample_interval_seconds=settings.metrics_sample_interval_seconds,
                   lag_interval_seconds=settings.metrics_lag_interval_seconds)

    def start(self) -> "ProcessMetrics":
        self._tasks = [asyncio.create_task(self._measure_lag(), name="event-loop lag"),
                       asyncio.create_task(self._sample_periodically(), name="metrics sampler")]
        return self

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        # The last figures of a process that stops gracefully are not lost.
        self.sample()

    def sample(self) -> None:
        """Publish this process's figures now."""
        try:
            if self.engine is not None:
                sample_pool(self.engine)
            if self.cache is not None:
                self._sample_cache()
            _process_figures.sample()
        except Exception:  # a figure missing from one scrape must not fail the scrape
            log.warning("metrics sample failed", exc_info=True)

    def _sample_cache(self) -> None:
        namespaces: dict[str, Any] = self.cache.stats.snapshot()["namespaces"]
        for namespace, report in namespaces.items():
            for tier, events in report["tiers"].items():
                for event, counter in CACHE_COUNTERS.items():
                    self._cache_mirror.update(counter, (namespace, tier), events.get(event, 0))
        for namespace, (lookups, hits) in self.cache.stats.lookup_totals().items():
            self._cache_mirror.update(metrics.cache_lookups, (namespace, "hit"), hits)
            self._cache_mirror.update(metrics.cache_lookups, (namespace, "miss"), lookups - hits)
        state = BREAKER_STATES.get(self.cache.l2_state)
        if state is not None:
            metrics.cache_breaker_state.labels("l2").set(state)

    async def _measure_lag(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self.lag_interval_seconds
        while True:
            due = loop.time() + interval
            await asyncio.sleep(interval)
            metrics.event_loop_lag.observe(max(0.0, loop.time() - due))

    async def _sample_periodically(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.sample_interval_seconds)


def start_process_metrics(settings: Any, *, engine: AsyncEngine | None,
                          cache: Any | None) -> ProcessMetrics | None:
    """The sampler of a process without the web application (the job worker); None when off."""
    metrics.configure(enabled=settings.metrics_enabled)
    if not settings.metrics_enabled:
        return None
    return ProcessMetrics.from_settings(settings, engine=engine, cache=cache).start()
