"""The benchmark's JSON and Markdown reports, with every workload's rps as a ratio to `hello`."""

import json
import os
import platform
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from lifeceo.bench.jobs import BATCH, ENQUEUERS, JobFigures
from lifeceo.bench.wrk import Result

# The workloads `--compare-metrics` runs again with metrics off are reported under this suffix.
METRICS_OFF_SUFFIX = " (metrics off)"
# And those `--compare-profiles` runs again with request profiles off.
PROFILES_OFF_SUFFIX = " (profiles off)"


@dataclass(frozen=True)
class Measurement:
    workload: str
    connections: int
    result: Result
    # From the server's own histogram (bench/server_side.py); None with metrics off.
    server_p95_ms: float | None = None


@dataclass
class Report:
    settings: dict[str, object]
    measurements: list[Measurement] = field(default_factory=list)
    # Server-side hit ratio over the mixed run, None where the server reported none.
    hit_ratio: float | None = None
    jobs: JobFigures | None = None
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def rps(self, workload: str, connections: int) -> float | None:
        for measurement in self.measurements:
            if measurement.workload == workload and measurement.connections == connections:
                return measurement.result.rps
        return None

    def ratio(self, workload: str, connections: int) -> float | None:
        hello, rps = self.rps("hello", connections), self.rps(workload, connections)
        return round(rps / hello, 3) if hello and rps is not None else None

    def metrics_cost(self) -> dict[str, float]:
        """Per workload and connection count measured both ways (`--compare-metrics`): the share
        of rps that metrics cost, 1 - on/off."""
        return self._cost(METRICS_OFF_SUFFIX)

    def profiles_cost(self) -> dict[str, float]:
        """The same for request profiles (`--compare-profiles`)."""
        return self._cost(PROFILES_OFF_SUFFIX)

    def _cost(self, off_suffix: str) -> dict[str, float]:
        cost = {}
        for m in self.measurements:
            if not m.workload.endswith(off_suffix):
                continue
            base = m.workload.removesuffix(off_suffix)
            on = self.rps(base, m.connections)
            if on is not None and m.result.rps:
                cost[f"{base} c={m.connections}"] = round(1 - on / m.result.rps, 4)
        return cost

    def as_json(self) -> dict[str, object]:
        return {
            "started_at": self.started_at,
            "machine": {"cpus": _cpus(), "python": platform.python_version()},
            "settings": self.settings,
            "hit_ratio": self.hit_ratio,
            "jobs": None if self.jobs is None else asdict(self.jobs),
            "metrics_cost": self.metrics_cost(),
            "profiles_cost": self.profiles_cost(),
            "measurements": [
                {"workload": m.workload, "connections": m.connections, **asdict(m.result),
                 "rps": round(m.result.rps, 1), "server_p95_ms": m.server_p95_ms,
                 "ratio_to_hello": self.ratio(m.workload, m.connections)}
                for m in self.measurements
            ],
        }

    def as_markdown(self) -> str:
        lines = [
            f"# lifeceo bench, {self.started_at}",
            "",
            f"{_cpus()} CPUs; settings: " + ", ".join(f"{k}={v}" for k, v in self.settings.items()),
            "",
            ("| workload | connections | rps | × hello | p50 ms | p95 ms | p99 ms | server p95 ms "
             "| errors | non-2xx |"),
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for m in self.measurements:
            r = m.result
            ratio = self.ratio(m.workload, m.connections)
            server = "" if m.server_p95_ms is None else f"{m.server_p95_ms:.1f}"
            lines.append(f"| {m.workload} | {m.connections} | {r.rps:,.0f} | "
                         f"{'' if ratio is None else f'{ratio:.2f}'} | {r.p50_ms:.1f} | "
                         f"{r.p95_ms:.1f} | {r.p99_ms:.1f} | {server} | {r.errors} | "
                         f"{r.non_2xx_3xx} |")
        lines += ["", "Server-side cache hit ratio during `mixed`: "
                  + ("not reported" if self.hit_ratio is None else f"{self.hit_ratio:.1%}"), ""]
        for feature, costs in (("Metrics", self.metrics_cost()),
                               ("Request profiles", self.profiles_cost())):
            for name, cost in costs.items():
                lines += [(f"{feature} cost on {name}: {cost:.1%} of rps (on vs off, the median "
                           "of rounds in alternating order)."), ""]
        if self.jobs is not None:
            jobs = self.jobs
            lines += [(f"Jobs: {jobs.enqueued_per_second:,.0f} enqueued/s with a commit each, "
                       f"{jobs.enqueued_per_second_batched:,.0f}/s by {BATCH} per commit in one "
                       "`enqueue_many` "
                       f"({ENQUEUERS} at once); enqueue → start on an idle queue p50 "
                       f"{jobs.start_p50_ms:.1f} ms, p95 {jobs.start_p95_ms:.1f} ms; a "
                       f"12-megapixel JPEG through the image pipeline {jobs.photo_seconds:.2f} s."),
                      ""]
        return "\n".join(lines)

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        stem = directory / f"bench-{self.started_at.replace(':', '')}"
        stem.with_suffix(".json").write_text(json.dumps(self.as_json(), indent=2) + "\n")
        markdown = stem.with_suffix(".md")
        markdown.write_text(self.as_markdown())
        return markdown


def _cpus() -> int:
    return len(os.sched_getaffinity(0))
