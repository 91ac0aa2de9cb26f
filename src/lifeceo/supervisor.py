"""`lifeceo serve`'s web worker supervisor: uvicorn's, except that a replacement gets as long as a
worker really takes to start, a worker that does not exit in time is killed, SIGHUP restarts
the job worker too, and a worker that asks to be recycled (SIGUSR1) is replaced as a reload
replaces it."""

import signal
import time
from collections.abc import Callable
from socket import socket

import structlog
from uvicorn.config import Config
from uvicorn.supervisors.multiprocess import Process

from lifeceo.platform.levers.recycle import RecycleRequests
from lifeceo.platform.observability.metrics_supervisor import MetricsMultiprocess

EXIT_SIGNALS = {signal.SIGTERM, signal.SIGINT}
log = structlog.get_logger(__name__)


class Supervisor(MetricsMultiprocess):
    def __init__(self, config: Config, sockets: list[socket], *, ready_timeout_seconds: float,
                 exit_timeout_seconds: float, on_reload: Callable[[], None] | None) -> None:
        super().__init__(config, sockets)
        self._ready_timeout = ready_timeout_seconds
        self._exit_timeout = exit_timeout_seconds
        self._on_reload = on_reload
        # Before any worker starts: they find it in the environment they inherit.
        self._recycling = RecycleRequests.create()

    def run(self) -> None:
        try:
            super().run()
        finally:
            self._recycling.remove()

    def handle_hup(self) -> None:
        log.info("SIGHUP: replacing the job worker and each web worker in turn")
        if self._on_reload is not None:
            self._on_reload()
        self.restart_all()

    def restart_all(self) -> None:
        self._retire(self._replace_each)

    def handle_usr1(self) -> None:
        self._retire(self._recycle_asked)

    def _recycle_asked(self) -> None:
        """Each worker that asked (the recycle lever) is replaced as a reload replaces it; not a
        crash: it never comes to the dead-worker check."""
        asked = self._recycling.take({process.pid for process in self.processes})
        for pid, asked_at in asked.items():
            index = next((index for index, process in enumerate(self.processes)
                          if process.pid == pid), None)
            new = None if index is None or self._exit_requested() else self._replace(index)
            self._recycling.answer(pid, asked_at=asked_at,
                                   outcome="recycled" if new else "not_recycled",
                                   replacement_pid=new.pid if new else None)
            if new is not None:
                log.info("worker recycled", pid=pid, new_pid=new.pid,
                         seconds=round(time.time() - asked_at, 2))

    def _replace_each(self) -> None:
        """Each worker's replacement serves before the worker is stopped; the first that does not
        get ready ends the restart, and the workers not replaced yet keep serving."""
        for index in range(len(self.processes)):
            if self._exit_requested() or self._replace(index) is None:
                return

    def _replace(self, index: int) -> Process | None:
        """The replacement, once it serves and the worker it replaces has stopped; None (the
        worker kept) when it does not get ready in time."""
        old = self.processes[index]
        started = time.monotonic()
        new = Process(self.config, self.sockets)
        new.start()
        if not self._wait_until_ready(new):
            new.kill()
            new.join()
            if not self._exit_requested():
                log.error("replacement worker not ready in time; the worker is kept",
                          new_pid=new.pid, kept_pid=old.pid, timeout_seconds=self._ready_timeout)
            return None
        log.info("replacement worker ready", new_pid=new.pid, old_pid=old.pid,
                 ready_seconds=round(time.monotonic() - started, 2))
        self.processes[index] = new
        self._stop([old])
        return new

    def _wait_until_ready(self, process: Process) -> bool:
        deadline = time.monotonic() + self._ready_timeout
        while time.monotonic() < deadline:
            if self._exit_requested() or not process.process.is_alive():
                return False
            if process.is_ready(timeout=1):
                return True
            time.sleep(0.1)
        return False

    def _exit_requested(self) -> bool:
        """SIGTERM or SIGINT waiting for the main loop (which a restart holds up)."""
        return self.should_exit.is_set() or any(sig in EXIT_SIGNALS for sig in self.signal_queue)

    def join_all(self) -> None:
        self._stop(self.processes, terminated=True)

    def _stop(self, processes: list[Process], *, terminated: bool = False) -> None:
        """SIGTERM (unless sent already), then SIGKILL whatever is left after the exit timeout:
        in-flight requests had their graceful period, the application its shutdown."""
        if not terminated:
            for process in processes:
                process.terminate()
        deadline = time.monotonic() + self._exit_timeout
        for process in processes:
            process.process.join(max(0.0, deadline - time.monotonic()))
            if process.process.exitcode is None:
                log.error("worker did not exit in time; killing it", pid=process.pid,
                          timeout_seconds=self._exit_timeout)
                process.kill()
                process.join()
