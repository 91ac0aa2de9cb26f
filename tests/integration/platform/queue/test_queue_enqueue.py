"""Enqueue writes the job in the caller's transaction; inline mode runs it after the commit."""

from datetime import UTC, datetime, timedelta

import pytest
from queue_helpers import RUNS, job_rows, wait_for
from sqlalchemy import text

from lifeceo.platform.queue import Priority, enqueue, enqueue_many
from lifeceo.platform.queue.registry import UnknownJob


async def test_a_rolled_back_transaction_leaves_no_job(queued):
    async with queued.sessionmaker() as session:
        assert await enqueue(session, "queue-test-record", n=1) is not None
        await session.rollback()
    assert await job_rows(queued, "queue-test-record") == []


async def test_a_committed_job_is_stored_with_its_options(queued):
    later = datetime.now(UTC) + timedelta(hours=1)
    async with queued.sessionmaker() as session:
        job_id = await enqueue(session, "queue-test-record", n=7, priority=Priority.URGENT,
                               schedule_at=later)
        await session.commit()
    [row] = await job_rows(queued, "queue-test-record")
    assert (row.id, row.status, row.args, row.queue_name, row.priority) == (
        job_id, "todo", {"n": 7}, "email", 10)
    assert row.scheduled_at == later


async def test_a_committed_job_runs_after_the_commit(queued, worker):
    worker.start("email")
    await worker.registered()
    async with queued.sessionmaker() as session:
        await enqueue(session, "queue-test-record", n=1)
        await session.flush()
        # Not visible to the worker, which is polling, until the commit.
        await session.execute(text("SELECT pg_sleep(0.3)"))
        assert RUNS.done == []
        await session.commit()
    await wait_for(lambda: RUNS.done == [("record", 1)])
    await wait_for(lambda: _statuses(queued, "queue-test-record", ["succeeded"]))


async def _statuses(context, name: str, expected: list[str]) -> bool:
    return [row.status for row in await job_rows(context, name)] == expected


async def test_a_job_in_a_rolled_back_savepoint_is_dropped(queued):
    async with queued.sessionmaker() as session:
        await enqueue(session, "queue-test-record", n=1)
        with pytest.raises(RuntimeError):
            async with session.begin_nested():
                await enqueue(session, "queue-test-record", n=2)
                raise RuntimeError
        await session.commit()
    assert [row.args for row in await job_rows(queued, "queue-test-record")] == [{"n": 1}]


async def test_inline_mode_runs_after_commit_and_never_after_rollback(app):
    RUNS.done.clear()
    async with app.state.sessionmaker() as session:
        assert await enqueue(session, "queue-test-record", n=1) is None
        await session.rollback()
    async with app.state.sessionmaker() as session:
        await enqueue(session, "queue-test-record", n=2)
        with pytest.raises(RuntimeError):
            async with session.begin_nested():
                await enqueue(session, "queue-test-record", n=3)
                raise RuntimeError
        assert RUNS.done == []
        await session.commit()
        # The commit returned after the job ran.
        assert RUNS.done == [("record", 2)]


async def test_inline_job_failures_do_not_fail_the_caller(app):
    async with app.state.sessionmaker() as session:
        await enqueue(session, "queue-test-fail", n=1)
        await session.commit()


async def test_arguments_must_be_json_and_times_aware(app):
    async with app.state.sessionmaker() as session:
        with pytest.raises(TypeError):
            await enqueue(session, "queue-test-record", n=datetime.now(UTC))
        with pytest.raises(ValueError, match="aware"):
            await enqueue(session, "queue-test-record", n=1, schedule_at=datetime.now())
        with pytest.raises(UnknownJob):
            await enqueue(session, "no-such-job")


async def test_a_batch_is_stored_in_one_statement_and_only_if_committed(queued):
    async with queued.sessionmaker() as session:
        await enqueue_many(session, "queue-test-record", [{"n": 1}, {"n": 2}])
        await session.rollback()
    assert await job_rows(queued, "queue-test-record") == []
    async with queued.sessionmaker() as session:
        job_ids = await enqueue_many(session, "queue-test-record",
                                     [{"n": n} for n in range(50)], priority=Priority.URGENT)
        assert await enqueue_many(session, "queue-test-record", []) == []
        await session.commit()
    rows = await job_rows(queued, "queue-test-record")
    assert sorted(row.id for row in rows) == sorted(job_ids)
    assert sorted(row.args["n"] for row in rows) == list(range(50))
    assert {(row.status, row.queue_name, row.priority) for row in rows} == {("todo", "email", 10)}


async def test_a_batch_runs_inline_after_the_commit(app):
    RUNS.done.clear()
    async with app.state.sessionmaker() as session:
        assert await enqueue_many(session, "queue-test-record", [{"n": 1}, {"n": 2}]) == []
        assert RUNS.done == []
        await session.commit()
    assert RUNS.done == [("record", 1), ("record", 2)]


async def test_a_batch_of_an_unknown_job_is_refused(queued):
    async with queued.sessionmaker() as session:
        with pytest.raises(UnknownJob):
            await enqueue_many(session, "no-such-job", [{}])
