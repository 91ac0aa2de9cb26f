"""The directory where every process of a `lifeceo serve` writes its metrics
(prometheus-client's multiprocess mode), and the bookkeeping when one of them exits."""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)
ENV = "PROMETHEUS_MULTIPROC_DIR"


def directory() -> str | None:
    return os.environ.get(ENV) or None


@contextmanager
def shared_directory(*, enabled: bool) -> Iterator[Path | None]:
    """Set before any worker starts, so that the workers (spawned, they import prometheus_client
    afresh) and the job worker inherit it. Emptied at start: files of an earlier run would be
    summed into this one's counters. An operator's own directory is emptied and kept; ours is
    removed at exit."""
    if not enabled:
        yield None
        return
    configured = directory()
    path = Path(configured) if configured else Path(tempfile.mkdtemp(prefix="lifeceo-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ[ENV] = str(path)
    log.info("metrics directory", path=str(path))
    try:
        yield path
    finally:
        if not configured:
            os.environ.pop(ENV, None)
            shutil.rmtree(path, ignore_errors=True)


def mark_dead(pid: int | None) -> None:
    """A process exited: its live gauges (in flight, pool, RSS...) leave the sum; its counters and
    histograms stay, so totals never go backwards."""
    path = directory()
    if path is None or pid is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid, path)
