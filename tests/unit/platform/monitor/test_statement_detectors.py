"""slow_query on recorded pg_stat_statements readings (deltas between two readings, not the
totals since the reset) and runaway_query on recorded pg_stat_activity rows; the candidate
index read from a recorded plan."""

from datetime import UTC, datetime, timedelta

from lifeceo.platform.monitor import detectors
from lifeceo.platform.monitor.signals import Signals, StatementReadings, Totals
from lifeceo.platform.monitor.statement_readings import totals
from lifeceo.platform.observability import plans, statements
from lifeceo.platform.observability.activity import Backend
from lifeceo.settings import Settings

NOW = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)
BEFORE = NOW - timedelta(seconds=15)
BY_NAME = {detector.name: detector for detector in detectors.from_settings(Settings())}
SLOW, RUNAWAY = BY_NAME["slow_query"], BY_NAME["runaway_query"]
QUERY = "SELECT id FROM posts WHERE author_id = $1"


def readings(previous: dict[int, Totals] | None, current: dict[int, Totals]) -> Signals:
    return Signals(now=NOW, step_seconds=10, statements=StatementReadings(
        at=NOW, current=current, previous_at=BEFORE if previous is not None else None,
        previous=previous))


def test_a_statement_that_became_slow_between_two_readings_is_found():
    # 1,000 earlier calls at 2 ms, then 8 calls in the interval at 400 ms each.
    previous = {7: Totals(QUERY, 1000, 2000.0), 8: Totals("SELECT 1", 50, 5.0)}
    current = {7: Totals(QUERY, 1008, 2000.0 + 8 * 400), 8: Totals("SELECT 1", 60, 6.0)}
    [found] = SLOW.evaluate(readings(previous, current))
    assert (found.fingerprint, found.severity) == ("slow_query:7", "warning")
    assert found.evidence["query"] == QUERY
    assert found.evidence["interval"]["calls"] == 8
    assert found.evidence["interval"]["mean_ms"] == 400.0
    assert found.evidence["interval"]["seconds"] == 15.0
    assert found.evidence["before"] == {"calls": 1000, "mean_ms": 2.0, "compared": True}
    assert "200.0 times its earlier 2 ms" in found.summary


def test_too_few_calls_in_the_interval_are_nothing():
    previous = {7: Totals(QUERY, 1000, 2000.0)}
    # Four calls at a second each: an odd batch, not the statement's behaviour (5 needed).
    assert SLOW.evaluate(readings(previous, {7: Totals(QUERY, 1004, 6000.0)})) == []


def test_a_statement_always_as_slow_is_not_a_step():
    # 500 ms a call since the reset and 500 ms in the interval: the slowest-statements list's
    # business, not an incident's.
    previous = {7: Totals(QUERY, 1000, 500_000.0)}
    assert SLOW.evaluate(readings(previous, {7: Totals(QUERY, 1010, 505_000.0)})) == []
    # The totals since the reset would not show a step under months of fast calls; the delta
    # does: the same 500 ms is one after a million calls at 1 ms.
    fast = {7: Totals(QUERY, 1_000_000, 1_000_000.0)}
    [found] = SLOW.evaluate(readings(fast, {7: Totals(QUERY, 1_000_010, 1_005_000.0)}))
    assert found.evidence["interval"]["mean_ms"] == 500.0


def test_a_new_statement_is_judged_against_the_floor_alone():
    # Not in the previous reading (new, or evicted since): all of its calls are the interval's.
    [found] = SLOW.evaluate(readings({}, {9: Totals(QUERY, 6, 6 * 300.0)}))
    assert found.evidence["before"]["compared"] is False
    assert "too little history" in found.summary
    # Under the 250 ms floor it is nothing, however new.
    assert SLOW.evaluate(readings({}, {9: Totals(QUERY, 6, 6 * 200.0)})) == []
    # Counters reset since: fewer calls than before, and the reading is all new calls.
    [reset] = SLOW.evaluate(readings({9: Totals(QUERY, 100, 100.0)},
                                     {9: Totals(QUERY, 6, 6 * 300.0)}))
    assert reset.evidence["interval"]["calls"] == 6


def test_the_first_reading_and_an_absent_extension_detect_nothing_and_say_why():
    current = {7: Totals(QUERY, 1008, 5200.0)}
    first = readings(None, current)
    assert SLOW.evaluate(first) == []
    assert "first reading" in SLOW.baseline_of(first)["reason"]
    absent = Signals(now=NOW, step_seconds=10, statements=StatementReadings(
        at=NOW, current={}, unavailable=statements.NOT_PRELOADED_REASON))
    assert SLOW.evaluate(absent) == []
    assert SLOW.baseline_of(absent) == {"available": False,
                                        "reason": statements.NOT_PRELOADED_REASON}
    compared = SLOW.baseline_of(readings({}, current))
    assert (compared["available"], compared["interval_seconds"]) == (True, 15.0)


def test_one_statement_s_rows_of_several_roles_count_as_one():
    def stats(calls, total):
        return statements.StatementStats(7, QUERY, calls, total, total / calls, total, 0, 0, 0)

    reading = statements.StatementsReading(True, None, [stats(10, 100.0), stats(5, 50.0)])
    assert totals(reading) == {7: Totals(QUERY, 15, 150.0)}


def backend(pid: int, seconds: float) -> Backend:
    return Backend(pid=pid, query_start=NOW - timedelta(seconds=seconds), running_seconds=seconds,
                   query="SELECT pg_sleep(600)", query_id=3, application_name="psql",
                   user="lifeceo", client="127.0.0.1")


def test_a_statement_past_the_hard_limit_is_a_runaway():
    signals = Signals(now=NOW, step_seconds=10, activity=[backend(41, 5), backend(42, 130)])
    [found] = RUNAWAY.evaluate(signals)
    assert (found.fingerprint, found.severity) == ("runaway_query:42", "critical")
    assert found.evidence["pid"] == 42
    assert found.evidence["query_start"] == (NOW - timedelta(seconds=130)).isoformat()
    assert RUNAWAY.evaluate(Signals(now=NOW, step_seconds=10)) == []


# EXPLAIN (VERBOSE, FORMAT JSON) of a join whose inner side scans posts by author and date.
PLAN = {"Node Type": "Hash Join", "Total Cost": 900.0, "Plans": [
    {"Node Type": "Seq Scan", "Relation Name": "posts", "Schema": "public", "Alias": "p",
     "Total Cost": 850.0, "Plan Rows": 12,
     "Filter": "((p.created_at >= $2) AND (p.author_id = $1) AND (pg_sleep($3) IS NOT NULL))"},
    {"Node Type": "Seq Scan", "Relation Name": "users", "Schema": "public", "Alias": "u",
     "Total Cost": 20.0, "Plan Rows": 1}]}


def test_the_candidate_index_takes_the_costliest_filtered_scan_equalities_first():
    [scan] = plans.seq_scans(PLAN)  # users has no filter
    assert (scan.relation, scan.columns) == ("posts", ["author_id", "created_at"])
    # pg_sleep is a function, not a column of posts: only real columns are kept.
    kept = plans.with_columns(scan, {"id", "author_id", "created_at", "body"})
    assert kept.index == "public.posts (author_id, created_at)"
    assert plans.with_columns(scan, {"id"}).index is None


async def test_a_text_of_two_statements_is_never_explained():
    # Sent without parameters, both would run; it is refused before any connection is made.
    plan = await plans.explain(None, "SELECT 1; DROP TABLE posts")
    assert (plan.available, plan.reason) == (False, "the text holds more than one statement")
