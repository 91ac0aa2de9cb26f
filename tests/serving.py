"""The real `lifeceo serve` in a test: a child process on a free port, waited for until it answers,
stopped as in production (SIGTERM)."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil

LIFECEO = Path(sys.executable).with_name("lifeceo")
# Workers importing the application on a loaded machine (and an initdb with a fresh data dir).
READY_TIMEOUT_SECONDS = 90


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(*, drop: Iterable[str] = (), **settings: str | None) -> dict[str, str]:
    """This process's environment without `drop`, with `settings` as LIFECEO_* variables (a None
    setting is left out)."""
    env = {key: value for key, value in os.environ.items() if key not in set(drop)}
    env.update({f"LIFECEO_{name.upper()}": value for name, value in settings.items()
                if value is not None})
    return env


def ready(url: str) -> bool:
    return httpx.get(f"{url}/api/health/ready").status_code == 200


def passing(url: str) -> bool:
    """Ready with every dependency answering, not just well enough to serve."""
    return httpx.get(f"{url}/api/health/ready").json()["status"] == "pass"


class Served:
    """A running `lifeceo serve --workers N`, its address and its log."""

    def __init__(self, log: Path, env: dict[str, str], *, workers: int = 2,
                 host: str = "127.0.0.1") -> None:
        self.port = free_port()
        self.url = f"http://{host}:{self.port}"
        self.log = log
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                [str(LIFECEO), "serve", "--workers", str(workers), "--port", str(self.port)],
                env=env, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def wait(self, condition: Callable[[], bool], what: str = "ready",
             timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Until `condition()` holds; the test fails with the log's tail if the server exits or
        `timeout` passes first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if condition():
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{what}: not in {timeout} s\n" + self.log.read_text()[-3000:])

    def wait_ready(self, check: Callable[[str], bool] = ready) -> None:
        self.wait(lambda: check(self.url))

    def workers(self) -> set[int]:
        """Live web worker processes (a killed one is a zombie until the supervisor reaps it)."""
        return self.children("spawn_main")

    def children(self, marker: str) -> set[int]:
        """Live child processes whose command line holds `marker`."""
        pids = set()
        for child in psutil.Process(self.process.pid).children():
            try:
                if marker in " ".join(child.cmdline()) and child.status() != "zombie":
                    pids.add(child.pid)
            except psutil.NoSuchProcess:  # exited meanwhile
                pass
        return pids

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(60)


@contextmanager
def serving(log: Path, env: dict[str, str], *, workers: int = 2, host: str = "127.0.0.1",
            check: Callable[[str], bool] = ready) -> Iterator[Served]:
    """A server, ready by `check`, for the length of the block."""
    served = Served(log, env, workers=workers, host=host)
    try:
        served.wait_ready(check)
        yield served
    finally:
        served.stop()
