"""One wrk run: a request list replayed for a fixed time at a fixed number of connections."""

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Beside the repository's migrations/: the request-replaying script wrk loads.
SCRIPT = Path(__file__).resolve().parents[3] / "bench" / "wrk" / "workload.lua"


@dataclass(frozen=True)
class RequestLine:
    method: str
    path: str
    token: str = ""
    body: str = ""

    def render(self) -> str:
        return f"{self.method}\t{self.path}\t{self.token}\t{self.body}"


@dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    errors: int
    non_2xx_3xx: int
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_binary() -> str:
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed: apt-get install wrk")
    return binary


def run(url: str, lines: list[RequestLine], *, connections: int, seconds: float,
        threads: int, delay_ms: int = 0) -> Result:
    """`delay_ms`: each connection's pause between requests (0: none, as fast as it goes)."""
    with tempfile.TemporaryDirectory(prefix="lifeceo-bench-") as scratch:
        requests_file = Path(scratch) / "requests.tsv"
        requests_file.write_text("\n".join(line.render() for line in lines) + "\n")
        summary_file = Path(scratch) / "summary.json"
        completed = subprocess.run(
            [wrk_binary(), f"-t{min(threads, connections)}", f"-c{connections}",
             f"-d{max(1, round(seconds))}s", "--timeout", "5s", "-s", str(SCRIPT), url, "--",
             str(requests_file)],
            env={**os.environ, "BENCH_SUMMARY": str(summary_file),
                 **({"BENCH_DELAY_MS": str(delay_ms)} if delay_ms else {})}, capture_output=True,
            text=True)
        if completed.returncode != 0 or not summary_file.exists():
            raise RuntimeError(f"wrk failed: {completed.stderr.strip() or completed.stdout}")
        summary = json.loads(summary_file.read_text())
    latency = summary["latency_us"]
    return Result(
        requests=summary["requests"], seconds=summary["duration_us"] / 1e6,
        errors=sum(summary["errors"].values()), non_2xx_3xx=summary["non_2xx_3xx"],
        p50_ms=latency["p50"] / 1000, p95_ms=latency["p95"] / 1000, p99_ms=latency["p99"] / 1000,
    )
