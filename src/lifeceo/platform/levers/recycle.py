"""The lever `recycle`: one web worker, named by its pid (on this node, or "host:pid") or "any"
(the one that takes the request), asks `lifeceo serve`'s supervisor to replace it. The supervisor
starts the replacement, waits until it serves, then stops the worker as a reload does: it stops
accepting, finishes its in-flight requests within the graceful period, and exits.

Worker and supervisor talk through a directory the supervisor made (its path in the workers'
environment): the worker writes `<pid>.asked` and sends SIGUSR1; the supervisor answers each
request with `<pid>.done`, which every worker of the node reports."""

import os
import re
import shutil
import signal
import socket
import tempfile
import time
from pathlib import Path

import orjson
import structlog

from lifeceo.errors import Conflict, Unprocessable
from lifeceo.platform.levers.board import process_name

log = structlog.get_logger(__name__)
# Set by the supervisor before it starts a worker; a worker without them has no supervisor that
# would replace it (`lifeceo serve --reload`, a test's application).
DIRECTORY_ENV = "LIFECEO_RECYCLE_DIR"
SUPERVISOR_ENV = "LIFECEO_RECYCLE_SUPERVISOR_PID"
ANY = "any"
GRACEFUL = "graceful"
TARGET = re.compile(r"^(?:(?P<host>[A-Za-z0-9_.-]{1,63}):)?(?P<pid>[0-9]{1,10})$")
# Outcomes each worker reports: enough to see the last few recycles, small enough for a NOTIFY.
REPORTED_OUTCOMES = 5


class RecycleRequests:
    """The directory shared by one supervisor and its web workers."""

    def __init__(self, directory: Path, *, supervisor_pid: int) -> None:
        self.directory = directory
        self.supervisor_pid = supervisor_pid

    @classmethod
    def create(cls) -> "RecycleRequests":
        """The supervisor's; its workers, started afterwards, inherit the environment."""
        requests = cls(Path(tempfile.mkdtemp(prefix="lifeceo-recycle-")),
                       supervisor_pid=os.getpid())
        os.environ[DIRECTORY_ENV] = str(requests.directory)
        os.environ[SUPERVISOR_ENV] = str(requests.supervisor_pid)
        return requests

    @classmethod
    def inherited(cls) -> "RecycleRequests | None":
        """A worker's, when the process that started it is the supervisor that made them."""
        directory, supervisor = os.environ.get(DIRECTORY_ENV), os.environ.get(SUPERVISOR_ENV)
        if not directory or not supervisor or not supervisor.isdigit() \
                or int(supervisor) != os.getppid():
            return None
        return cls(Path(directory), supervisor_pid=int(supervisor))

    def ask(self, pid: int) -> None:
        (self.directory / f"{pid}.asked").write_bytes(orjson.dumps({"asked_at": time.time()}))
        os.kill(self.supervisor_pid, signal.SIGUSR1)

    def withdraw(self, pid: int) -> bool:
        """Whether the request was still there, untaken."""
        try:
            (self.directory / f"{pid}.asked").unlink()
        except FileNotFoundError:
            return False
        return True

    def take(self, pids: set[int]) -> dict[int, float]:
        """The requests of these workers, each taken once: pid → when it was asked."""
        taken = {}
        for pid in pids:
            path = self.directory / f"{pid}.asked"
            try:
                taken[pid] = orjson.loads(path.read_bytes())["asked_at"]
                path.unlink()
            except (FileNotFoundError, orjson.JSONDecodeError, KeyError):
                continue
        return taken

    def answer(self, pid: int, *, asked_at: float, outcome: str,
               replacement_pid: int | None) -> None:
        (self.directory / f"{pid}.done").write_bytes(orjson.dumps({
            "pid": pid, "replacement_pid": replacement_pid, "outcome": outcome,
            "asked_at": round(asked_at, 3), "done_at": round(time.time(), 3)}))

    def answered(self) -> list[dict]:
        """The latest outcomes, newest first."""
        outcomes = []
        for path in self.directory.glob("*.done"):
            try:
                outcomes.append(orjson.loads(path.read_bytes()))
            except (FileNotFoundError, orjson.JSONDecodeError):
                continue
        outcomes.sort(key=lambda outcome: outcome["done_at"], reverse=True)
        return outcomes[:REPORTED_OUTCOMES]

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


class WorkerRecycle:
    """The lever `recycle`: target a worker or "any", value "graceful". The setting records, as
    its value, the one worker that acts ("host:pid"), so that "any" is not every worker."""

    name = "recycle"

    def __init__(self, requests: RecycleRequests | None) -> None:
        self._requests = requests
        self._asked_at: float | None = None
        # The `until` of the setting this worker acted on: the same setting heard again (a sync)
        # does not ask again, a new pull does, even after a recycle that did not happen.
        self._acted_until: float | None = None

    def check(self, target: str, value: str) -> str:
        if value != GRACEFUL:
            raise Unprocessable("The recycle lever's value is 'graceful'.")
        if target == ANY:
            chosen = process_name()
        elif match := TARGET.match(target):
            chosen = f"{match['host'] or socket.gethostname()}:{int(match['pid'])}"
        else:
            raise Unprocessable("A worker is 'any', its pid, or 'host:pid'.")
        if chosen == process_name() and self._requests is None:
            raise Conflict("This worker has no supervisor to start its replacement; "
                           "`lifeceo serve` runs one.")
        return chosen

    def apply(self, target: str, value: str, until: float) -> None:
        # Every process hears the setting, and hears it again when one starts (the replacement
        # too): only the worker named acts, once per pull.
        if value != process_name() or until == self._acted_until:
            return
        self._acted_until = until
        self._asked_at = time.time()
        if self._requests is None:
            log.warning("recycle asked of a worker no supervisor would replace; ignored")
            return
        log.info("asking the supervisor to recycle this worker")
        self._requests.ask(os.getpid())

    def release(self, target: str) -> None:
        # Once the supervisor has taken the request the replacement is on its way; before, the
        # request is withdrawn.
        if self._requests is not None and self._asked_at is not None \
                and self._requests.withdraw(os.getpid()):
            self._asked_at = None

    def state(self) -> dict:
        return {"supervised": self._requests is not None,
                "asked_at": round(self._asked_at, 3) if self._asked_at else None,
                "recycled": self._requests.answered() if self._requests else []}
