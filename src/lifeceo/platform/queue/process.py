"""`lifeceo serve`'s job worker: one `lifeceo worker` child process for every queue, restarted if
it dies or on SIGHUP, stopped gracefully after the web workers.

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
        # Threads stopping workers that a restart replaced; stop() waits for them.
        self._retiring: set[threading.Thread] = set()
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
        if process is not None:
            self._stop(process)
        for retiring in list(self._retiring):
            retiring.join()
        self._thread.join(timeout=5)

    def restart(self) -> None:
        """A new worker process (the code as it is now) starts, then the current one stops
        gracefully; jobs wait in the queue meanwhile, none is lost (two workers may share it)."""
        with self._lock:
            if self._stopping.is_set() or self._process is None:
                return
            old, self._process = self._process, self._start()
        log.info("job worker restarting", old_pid=old.pid, new_pid=self._process.pid)
        # Off the supervisor's thread: the old worker's running jobs get their grace period.
        retiring = threading.Thread(target=self._stop, args=(old,), name="retiring job worker",
                                    daemon=True)
        self._retiring.add(retiring)
        retiring.start()

    def _stop(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(self._stop_timeout)
            except subprocess.TimeoutExpired:
                log.error("job worker did not stop in time; killing it", pid=process.pid)
                process.kill()
                process.wait()
        self._retiring.discard(threading.current_thread())

    @staticmethod
    def _start() -> subprocess.Popen:
        # A session of its own: Ctrl-C in the terminal stops serve, which stops this.
        process = subprocess.Popen(COMMAND, start_new_session=True, stdin=subprocess.PIPE)
        log.info("job worker process started", pid=process.pid)
        return process

    def _supervise(self) -> None:
        delay = RESTART_FIRST_SECONDS
        with self._lock:
            if self._stopping.is_set():
                return
            process = self._process = self._start()
        while True:
            started = time.monotonic()
            code = process.wait()
            process.stdin.close()
            mark_dead(process.pid)  # its live gauges leave /api/metrics, its counters stay
            with self._lock:
                if self._stopping.is_set():
                    return
                if self._process is not process:  # restarted: watch its replacement
                    process = self._process
                    continue
            if time.monotonic() - started > HEALTHY_RUN_SECONDS:
                delay = RESTART_FIRST_SECONDS
            log.error("job worker exited; restarting it", code=code, restart_in_seconds=delay)
            if self._stopping.wait(delay):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                if self._process is process:  # else a restart started one meanwhile
                    self._process = self._start()
                process = self._process
            delay = min(delay * 2, RESTART_MAX_SECONDS)


@contextmanager
def serve_worker(settings: Settings) -> Iterator[WorkerProcess | None]:
    """A worker process for the block, unless jobs run inline or on `lifeceo worker` nodes."""
    if settings.jobs_inline or not settings.jobs_worker_in_serve:
        yield None
        return
    worker = WorkerProcess(grace_seconds=settings.jobs_shutdown_grace_seconds)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
