"""`lifeceo bench` end to end on a tiny data set: wrk really drives a real server."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
LIFECEO = Path(sys.executable).with_name("lifeceo")


def test_bench_writes_reports_with_ratios_to_hello(tmp_path):
    out = tmp_path / "out"
    completed = subprocess.run(
        [str(LIFECEO), "bench", "--workloads", "hello,feed-first,mixed,feed-uncached",
         "--connections", "10", "--seconds", "2", "--workers", "1", "--threads", "1",
         "--users", "60", "--posts", "300", "--events", "20",
         "--data-dir", str(tmp_path / "data"), "--output-dir", str(out)],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    report = json.loads(next(out.glob("bench-*.json")).read_text())
    by_workload = {m["workload"]: m for m in report["measurements"]}
    assert set(by_workload) == {"hello", "feed-first", "mixed", "feed-uncached"}
    assert by_workload["hello"]["ratio_to_hello"] == 1.0
    for measurement in report["measurements"]:
        assert measurement["requests"] > 0 and measurement["errors"] == 0
        assert measurement["non_2xx_3xx"] == 0, measurement
        assert 0 < measurement["ratio_to_hello"]
        # From the server's own histogram (interpolated within its buckets, so not comparable
        # to wrk's to the millisecond).
        assert measurement["server_p95_ms"] > 0, measurement
    assert "| mixed | 10 |" in next(out.glob("bench-*.md")).read_text()


def test_unknown_workload_is_refused(tmp_path):
    completed = subprocess.run([str(LIFECEO), "bench", "--workloads", "nope"],
                               capture_output=True, text=True, timeout=60)
    assert completed.returncode == 1
    assert "unknown workloads: nope" in completed.stderr
