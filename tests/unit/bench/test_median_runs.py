"""`--compare-metrics` keeps, of its alternating rounds, the run of median rps."""

from lifeceo.bench.report import Measurement
from lifeceo.bench.runner import median_runs
from lifeceo.bench.wrk import Result


def run(workload: str, requests: int, connections: int = 100) -> Measurement:
    return Measurement(workload, connections, Result(requests=requests, seconds=1.0, errors=0,
                                                     non_2xx_3xx=0, p50_ms=1, p95_ms=2, p99_ms=3))


def test_the_median_round_of_each_workload_and_connection_count():
    rounds = [run("feed (metrics off)", 900), run("feed", 700), run("feed", 1200),
              run("feed (metrics off)", 1000), run("feed (metrics off)", 800), run("feed", 1000),
              run("feed", 50, connections=10)]
    kept = median_runs(rounds)
    assert [(m.workload, m.connections, m.result.requests) for m in kept] == [
        ("feed (metrics off)", 100, 900), ("feed", 100, 1000), ("feed", 10, 50)]
