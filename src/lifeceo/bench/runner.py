"""Seed (or reuse) the data set, run each workload against a real server, write the reports."""

import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console

from lifeceo.bench import server_side, workloads, wrk
from lifeceo.bench.jobs import JobFigures
from lifeceo.bench.jobs import measure as measure_jobs
from lifeceo.bench.report import METRICS_OFF_SUFFIX, PROFILES_OFF_SUFFIX, Measurement, Report
from lifeceo.bench.server import BenchServer, run_cli
from lifeceo.platform.db.embedded import cluster_url

ALL_WORKLOADS = ("hello", "feed-cached", "feed-first", "feed-deep", "mixed", "feed-uncached",
                 "search", "jobs")
# Measured from this process (bench/jobs.py), not with wrk.
IN_PROCESS = frozenset({"jobs"})
# Workloads measured against a server with the cache turned off.
UNCACHED = frozenset({"feed-uncached"})
SEED_MARKER = "bench-seed.txt"
# Before each measured run: fill caches and connection pools, let the workers settle.
WARMUP_SECONDS = 2
WARMUP_CONNECTIONS = 50
# `--compare-metrics`: the same workloads on servers with metrics and their history off too,
# reported under the workload's name with report.METRICS_OFF_SUFFIX.
METRICS_OFF = {"LIFECEO_METRICS_ENABLED": "false", "LIFECEO_METRICS_HISTORY_ENABLED": "false"}
# `--compare-profiles`: the same with request profiles off (no middleware, no SQL event).
PROFILES_OFF = {"LIFECEO_PROFILES_ENABLED": "false"}
COMPARE_ROUNDS = 3


@dataclass(frozen=True)
class BenchOptions:
    data_dir: Path
    output_dir: Path
    users: int
    posts: int
    events: int
    workers: int
    threads: int
    seconds: float
    connections: tuple[int, ...]
    workloads: tuple[str, ...]
    compare_metrics: bool = False
    compare_profiles: bool = False


def run(options: BenchOptions, console: Console) -> Path:
    if options.users < workloads.LOGGED_IN_USERS:
        raise RuntimeError(f"the benchmark logs in {workloads.LOGGED_IN_USERS} seeded users; "
                           "--users must be at least that")
    options.data_dir.mkdir(parents=True, exist_ok=True)
    ensure_data_set(data_dir=options.data_dir, users=options.users, posts=options.posts,
                    events=options.events, console=console)
    report = Report(settings={
        "workers": options.workers, "wrk_threads": options.threads, "seconds": options.seconds,
        "users": options.users, "posts": options.posts, "events": options.events,
    })
    log = options.data_dir / "bench-server.log"
    driven = [w for w in options.workloads if w not in UNCACHED | IN_PROCESS]
    uncached = [w for w in options.workloads if w in UNCACHED]
    if options.compare_metrics:
        _compare(driven, METRICS_OFF, METRICS_OFF_SUFFIX, options, report, console, log)
    elif options.compare_profiles:
        _compare(driven, PROFILES_OFF, PROFILES_OFF_SUFFIX, options, report, console, log)
    else:
        _run_group(driven, {}, "", options, report, console, log)
    # `hello` touches no cache, so the cached server's run is the baseline of this group too.
    _run_group(uncached, {"LIFECEO_CACHE_ENABLED": "false"}, "", options, report, console, log)
    if "jobs" in options.workloads:
        # A server of its own: after a wrk run, its workers and database stay busy a while.
        with BenchServer(options.data_dir, workers=options.workers, log=log):
            report.jobs = _measure_jobs(options, console)
    path = report.write(options.output_dir)
    console.print(report.as_markdown())
    return path


def _run_group(group: list[str], overrides: dict[str, str], suffix: str, options: BenchOptions,
               report: Report, console: Console, log: Path) -> None:
    """The workloads on one server started with `overrides`, reported with `suffix`."""
    if not group:
        return
    with BenchServer(options.data_dir, workers=options.workers, log=log,
                     overrides=overrides) as server:
        fixtures = workloads.gather(server.url)
        for workload in group:
            lines = workloads.requests_for(workload, fixtures)
            _measure(server.url, workload + suffix, lines, options, report, console)
            if workload == "mixed" and not suffix:
                report.hit_ratio = _hit_ratio(server.url, fixtures)


def _compare(group: list[str], off: dict[str, str], off_suffix: str, options: BenchOptions,
             report: Report, console: Console, log: Path) -> None:
    """The workloads with a feature on and off (`off`: its settings), in COMPARE_ROUNDS rounds
    whose order alternates, each figure the median round: whichever server runs second on this
    shared machine ran up to 16 % slower across the board, more than metrics cost."""
    rounds = Report(settings={})
    for round_ in range(COMPARE_ROUNDS):
        order = [({}, ""), (off, off_suffix)]
        for overrides, suffix in order if round_ % 2 else reversed(order):
            _run_group(group, overrides, suffix, options, rounds, console, log)
    report.hit_ratio = rounds.hit_ratio
    report.measurements += median_runs(rounds.measurements)


def median_runs(measurements: list[Measurement]) -> list[Measurement]:
    """Per workload and connection count, the run of median rps, in order of first appearance."""
    runs: dict[tuple[str, int], list[Measurement]] = {}
    for measurement in measurements:
        runs.setdefault((measurement.workload, measurement.connections), []).append(measurement)
    return [sorted(measured, key=lambda m: m.result.rps)[len(measured) // 2]
            for measured in runs.values()]


def ensure_data_set(*, data_dir: Path, users: int, posts: int, events: int,
                    console: Console) -> None:
    """Seed `data_dir` with that many users, posts and events, unless it holds them already."""
    wanted = f"{users} {posts} {events}"
    marker = data_dir / SEED_MARKER
    if marker.exists() and marker.read_text().strip() == wanted:
        console.print(f"reusing the data set in {data_dir}")
        return
    if marker.exists():
        raise RuntimeError(f"{data_dir} holds a data set of another size "
                           f"({marker.read_text().strip()}); use another --data-dir")
    console.print(f"seeding {users} users, {posts} posts, {events} events")
    started = time.perf_counter()
    run_cli(data_dir, "seed", "--users", str(users), "--posts", str(posts), "--events",
            str(events), "--seed", "1")
    # The first seeded user reads the server's cache statistics, an admin route.
    run_cli(data_dir, "create-admin", "user00001")
    marker.write_text(wanted + "\n")
    console.print(f"seeded in {time.perf_counter() - started:.1f} s")


def _measure(url: str, workload: str, lines: list, options: BenchOptions, report: Report,
             console: Console) -> None:
    wrk.run(url, lines, connections=WARMUP_CONNECTIONS, seconds=min(WARMUP_SECONDS, options.seconds),
            threads=options.threads)
    for connections in options.connections:
        before = server_side.duration_buckets(url)
        result = wrk.run(url, lines, connections=connections, seconds=options.seconds,
                         threads=options.threads)
        server_p95 = server_side.quantile_ms(before, server_side.duration_buckets(url), 0.95)
        console.print(f"{workload:>13} c={connections:<5} {result.rps:>9,.0f} rps  "
                      f"p99 {result.p99_ms:.1f} ms  server p95 {server_p95} ms  "
                      f"errors {result.errors}  non-2xx {result.non_2xx_3xx}")
        report.measurements.append(Measurement(workload, connections, result, server_p95))


def _measure_jobs(options: BenchOptions, console: Console) -> JobFigures:
    with cluster_url(options.data_dir) as database_url:
        figures = measure_jobs(database_url, seconds=options.seconds)
    console.print(f"{'jobs':>13} enqueue {figures.enqueued_per_second:,.0f}/s  start p95 "
                  f"{figures.start_p95_ms:.1f} ms  12 MP photo {figures.photo_seconds:.2f} s")
    return figures


def _hit_ratio(url: str, fixtures: workloads.Fixtures) -> float | None:
    """The server's own 1-minute hit ratio from its admin cache report, weighted over the worker
    processes that answer a few asks (each process reports its own)."""
    reports = {}
    with httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(10):
            response = client.get("/api/v1/admin/cache",
                                  headers={"Authorization": f"Bearer {fixtures.tokens[0]}"})
            response.raise_for_status()
            reports[response.json()["pid"]] = response.json()["windows"]["1m"]
    rated = [window for window in reports.values() if window["hit_ratio"] is not None]
    samples = sum(window["samples"] for window in rated)
    if not samples:
        return None
    return round(sum(window["hit_ratio"] * window["samples"] for window in rated) / samples, 4)
