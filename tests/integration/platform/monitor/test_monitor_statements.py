"""slow_query and runaway_query against the real database: a statement made slow between two
evaluations opens an incident whose evidence holds its plan, and suggest_index waits for an
administrator, whose approval records it and runs no DDL; a runaway statement in another
connection is found with its pid and cancelled once an administrator approves cancel_query."""

import asyncio
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from tests.integration.platform.monitor.test_monitor_actions import incident, monitors  # noqa: F401
from tests.integration.platform.monitor.test_monitor_api import (
    MONITOR,
    Clock,
)

from lifeceo.platform.observability import statements

PROBE = "slow_query_probe"
# One row, so that the filter's pg_sleep runs once a call: 300 ms, past the 250 ms floor.
SLOW = f"SELECT id FROM {PROBE} WHERE k = :k AND pg_sleep(:seconds) IS NOT NULL"


@pytest.fixture
async def probe_table(app):
    """A table of the test's own (a new one each time: its statements get new query ids),
    dropped afterwards."""
    if not (await statements.read(app.state.engine, limit=1)).available:
        pytest.skip("the server does not keep pg_stat_statements")
    async with app.state.engine.begin() as connection:
        await connection.execute(text(f"DROP TABLE IF EXISTS {PROBE}"))
        await connection.execute(text(f"CREATE TABLE {PROBE} (id serial PRIMARY KEY, k int)"))
        await connection.execute(text(f"INSERT INTO {PROBE} (k) VALUES (1)"))
    yield PROBE
    async with app.state.engine.begin() as connection:
        await connection.execute(text(f"DROP TABLE IF EXISTS {PROBE}"))


async def test_a_statement_slow_between_two_evaluations_gets_an_index_suggestion(
        app, client, admin, monitors, probe_table):  # noqa: F811
    clock = Clock(datetime.now(UTC))
    monitor = monitors(clock)
    first = await monitor.lead()
    assert not [d for d in first.detections if d.detector == "slow_query"]
    async with app.state.engine.connect() as connection:
        for _ in range(5):
            await connection.execute(text(SLOW), {"k": 1, "seconds": 0.3})
    clock.advance(15)
    second = await monitor.lead()
    [found] = [d for d in second.detections if d.detector == "slow_query"
               and PROBE in d.evidence["query"]]
    assert found.evidence["interval"]["calls"] == 5
    assert found.evidence["interval"]["mean_ms"] >= 300
    row = await incident(app, found.fingerprint)
    suggestion = row.evidence["suggestion"]
    assert suggestion["available"], suggestion
    assert f"Seq Scan on {PROBE}" in suggestion["plan"]
    assert suggestion["index"] == f"public.{PROBE} (k)"
    assert suggestion["ddl"] == f"CREATE INDEX CONCURRENTLY ON public.{PROBE} (k);"

    listed = (await client.get(f"{MONITOR}/actions", headers=admin)).json()
    [waiting] = [a for a in listed if a["action"] == "suggest_index"
                 and a["fingerprint"] == found.fingerprint]
    assert (waiting["outcome"], waiting["lever"], waiting["target"], waiting["value"]) == (
        "awaiting_approval", "index", found.label, f"public.{PROBE} (k)")
    approved = await client.post(f"{MONITOR}/actions/{waiting['id']}/approve", headers=admin)
    assert approved.status_code == 200, approved.text
    assert approved.json()["outcome"] == "accepted"
    assert f"CREATE INDEX CONCURRENTLY ON public.{PROBE} (k)" in approved.json()["note"]
    assert approved.json()["settled_at"] is not None
    # Accepted, not applied: the table has its primary key's index and no other.
    async with app.state.engine.connect() as connection:
        indexes = (await connection.execute(text(
            "SELECT indexname FROM pg_indexes WHERE tablename = :table"),
            {"table": PROBE})).scalars().all()
    assert indexes == [f"{PROBE}_pkey"]
    detectors = {d["name"]: d for d in
                 (await client.get(f"{MONITOR}/detectors", headers=admin)).json()}
    assert detectors["slow_query"]["baseline"]["available"] is True


async def test_a_runaway_statement_is_cancelled_after_an_administrator_approves(
        app, client, admin, monitors, engine):  # noqa: F811
    async with engine.connect() as connection:
        pid = await connection.scalar(text("SELECT pg_backend_pid()"))
        await connection.commit()
        sleeping = asyncio.create_task(connection.execute(text("SELECT pg_sleep(60)")))
        try:
            await asyncio.sleep(1.5)
            clock = Clock(datetime.now(UTC))
            monitor = monitors(clock, monitor_runaway_query_seconds=1.0)
            outcome = await monitor.lead()
            [found] = [d for d in outcome.detections if d.fingerprint == f"runaway_query:{pid}"]
            assert found.evidence["query"] == "SELECT pg_sleep(60)"
            assert not sleeping.done()  # proposed, not cancelled: it waits for approval
            listed = (await client.get(f"{MONITOR}/actions", headers=admin)).json()
            [waiting] = [a for a in listed if a["fingerprint"] == found.fingerprint]
            assert (waiting["action"], waiting["outcome"], waiting["target"]) == (
                "cancel_query", "awaiting_approval", str(pid))
            approved = await client.post(f"{MONITOR}/actions/{waiting['id']}/approve",
                                         headers=admin)
            assert approved.status_code == 200, approved.text
            assert approved.json()["outcome"] == "verifying"
            with pytest.raises(DBAPIError) as cancelled:
                await asyncio.wait_for(sleeping, timeout=10)
            assert isinstance(cancelled.value.orig, psycopg.errors.QueryCanceled)
        finally:
            if not sleeping.done():
                sleeping.cancel()
            await asyncio.gather(sleeping, return_exceptions=True)
    # Gone at the next evaluation: the cancel helped.
    clock.advance(15)
    assert (await monitor.lead()).actions == {"mitigated": [waiting["id"]]}
    # Decided once: a second approval is refused.
    again = await client.post(f"{MONITOR}/actions/{waiting['id']}/approve", headers=admin)
    assert again.status_code == 409
