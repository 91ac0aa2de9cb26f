"""A `lifeceo serve` subprocess for the benchmark, on its own data directory and port."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

LIFECEO = Path(sys.executable).with_name("lifeceo")
# A fresh data directory means initdb and migrations on a loaded machine.
READY_TIMEOUT_SECONDS = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_cli(data_dir: Path, *args: str) -> None:
    """Another lifeceo command (seed, create-admin) against the benchmark's data directory."""
    subprocess.run([str(LIFECEO), *args], env=_environment(data_dir, {}), check=True,
                   stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)


def _environment(data_dir: Path, overrides: dict[str, str]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("LIFECEO_") or key == "LIFECEO_REDIS_URL"}
    env.update({
        "LIFECEO_DATA_DIR": str(data_dir),
        # Measure the platform, not its defences: wrk is one client hammering from one address.
        "LIFECEO_RATELIMIT_ENABLED": "false",
        # An access-log line per request would be a large share of a trivial route's cost.
        "LIFECEO_LOG_LEVEL": "WARNING",
        "LIFECEO_LOG_FORMAT": "json",
        **overrides,
    })
    return env


class BenchServer:
    def __init__(self, data_dir: Path, *, workers: int, log: Path,
                 overrides: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._command = [str(LIFECEO), "serve", "--workers", str(workers), "--port", str(self.port)]
        self._env = _environment(data_dir, overrides or {})
        self._log = log
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> "BenchServer":
        with self._log.open("ab") as output:
            self._process = subprocess.Popen(self._command, env=self._env, stdout=output,
                                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"lifeceo serve exited with {self._process.returncode}; "
                                   f"see {self._log}")
            try:
                if httpx.get(f"{self.url}/api/health/ready", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.__exit__(None, None, None)
        raise RuntimeError(f"lifeceo serve was not ready in {READY_TIMEOUT_SECONDS} s; "
                           f"see {self._log}")

    def __exit__(self, *_exc: object) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(60)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
