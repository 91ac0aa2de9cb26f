"""uvicorn's worker supervisor, telling the metrics directory about every worker it retires."""

from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from uvicorn.supervisors import Multiprocess

from lifeceo.platform.observability.metrics_multiprocess import mark_dead


class MetricsMultiprocess(Multiprocess):
    """Replacing a dead or hung worker, a SIGHUP restart and SIGTTOU each retire processes; the
    ones gone afterwards are marked dead."""

    @contextmanager
    def _retiring(self) -> Any:
        before = {process.pid for process in self.processes}
        try:
            yield
        finally:
            for pid in before - {process.pid for process in self.processes}:
                mark_dead(pid)

    def _retire(self, method: Callable[[], None]) -> None:
        with self._retiring():
            method()

    def keep_subprocess_alive(self) -> None:
        self._retire(super().keep_subprocess_alive)

    def restart_all(self) -> None:
        self._retire(super().restart_all)

    def handle_ttou(self) -> None:
        self._retire(super().handle_ttou)
