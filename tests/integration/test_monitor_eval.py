"""`lifeceo monitor eval` end to end, short: a real server under load, three faults injected
through the chaos API, each found by the detector the scorecard expects for it: the 5xx burn
rate, the loop probes, and the N+1 requests counted by every process's profiles."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.database_independent]
LIFECEO = Path(sys.executable).with_name("lifeceo")


def test_eval_scores_each_fault_detected_by_its_expected_detector(tmp_path):
    out = tmp_path / "out"
    completed = subprocess.run(
        [str(LIFECEO), "monitor", "eval", "--faults", "route_errors,loop_blocker,n_plus_one",
         "--clean-seconds", "15", "--fault-seconds", "20", "--recovery-seconds", "0",
         "--users", "60", "--posts", "300", "--events", "20",
         "--data-dir", str(tmp_path / "data"), "--output-dir", str(out)],
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    card = json.loads(next(out.glob("monitor-eval-*.json")).read_text())
    by_kind = {fault["kind"]: fault for fault in card["faults"]}
    assert list(by_kind) == ["route_errors", "loop_blocker", "n_plus_one"]
    assert by_kind["route_errors"]["detected"]
    assert "error_burst" in by_kind["route_errors"]["detected_by"]
    assert by_kind["loop_blocker"]["detected"]
    assert "event_loop_blocked" in by_kind["loop_blocker"]["detected_by"]
    assert "n_plus_one" in by_kind["n_plus_one"]["detected_by"]
    assert card["summary"]["recall_over_watched_kinds"] == 1.0
    assert card["load"]["requests"] > 0
    assert "| route_errors (feed) |" in next(out.glob("monitor-eval-*.md")).read_text()


def test_unknown_fault_is_refused(tmp_path):
    completed = subprocess.run([str(LIFECEO), "monitor", "eval", "--faults", "nope"],
                               capture_output=True, text=True, timeout=60)
    assert completed.returncode == 1
    assert "faults not available here: nope" in completed.stderr
