"""`lifeceo serve`'s job worker: one `lifeceo worker` child process for every queue, restarted if
it dies, stopped gracefully after the web workers.

A process of its own rather than a task in a web worker: a slow job cannot hold up requests, web
workers can be recycled without touching running jobs, and it is the same code and signals as a
`lifeceo worker` node.
"""

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

from lifeceo.platform.observability.metrics_multiprocess import mark_dead
from lifeceo.settings import Settings

log = structlog.get_logger(__name__)
# The worker stops when its stdin closes: when serve exits, even killed, the pipe closes.
COMMAND = [sys.executable, "-m", "lifeceo.cli", "worker", "--stop-on-stdin-eof"]
# Restart delays after a crash: doubling, and back to the first once a run lasted a minute.
RESTART_FIRST_SECONDS, RESTART_MAX_SECONDS, HEALTHY_RUN_SECONDS = 1.0, 30.0, 60.0


class WorkerProcess:
    def __init__(self, *, grace_seconds: float) -> None:
        # Past the worker's own grace period it has had its chance to release its jobs.
        self._stop_timeout = grace_seconds + 10
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._thread = threading.Thread(target=self._supervise, name="job worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def pid(self) -> int | None:
        """The current worker process's id (None before the first start)."""
        return self._process.pid if self._process is not None else None

    def stop(self) -> None:
        with self._lock:
            self._stopping.set()
            process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(self._stop_timeout)
            except subprocess.TimeoutExpired:
                log.error("job worker did not stop in time; killing it", pid=process.pid)
                process.kill()
                process.wait()
        self._thread.join(timeout=5)

    def _supervise(self) -> None:
        delay = RESTART_FIRST_SECONDS
        while True:
            with self._lock:
                if self._stopping.is_set():
                    return
                # A session of its own: Ctrl-C in the terminal stops serve, which stops this.
                self._process = subprocess.Popen(COMMAND, start_new_session=True,
                                                 stdin=subprocess.PIPE)
            log.info("job worker process started", pid=self._process.pid)
            started = time.monotonic()
            code = self._process.wait()
            self._process.stdin.close()
            mark_dead(self._process.pid)  # its live gauges leave /api/metrics, its counters stay
            if self._stopping.is_set():
                return
            if time.monotonic() - started > HEALTHY_RUN_SECONDS:
                delay = RESTART_FIRST_SECONDS
            log.error("job worker exited; restarting it", code=code, restart_in_seconds=delay)
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, RESTART_MAX_SECONDS)


@contextmanager
def serve_worker(settings: Settings) -> Iterator[None]:
    """A worker process for the block, unless jobs run inline or on `lifeceo worker` nodes."""
    if settings.jobs_inline or not settings.jobs_worker_in_serve:
        yield
        return
    worker = WorkerProcess(grace_seconds=settings.jobs_shutdown_grace_seconds)
    worker.start()
    try:
        yield
    finally:
        worker.stop()
