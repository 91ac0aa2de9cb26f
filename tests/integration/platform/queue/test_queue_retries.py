"""Failed runs are retried with their queue's backoff, then kept as dead letters with their errors."""

from queue_helpers import RUNS, job_rows, wait_for
from sqlalchemy import select, text, update
from tests.factories import user

from lifeceo.community.users.models import User
from lifeceo.platform.queue import enqueue
from lifeceo.platform.queue.models import JobFailure

# Database and worker clocks agree on one machine; the tolerance covers the 1 s poll.
TOLERANCE_SECONDS = 1.0


async def _make_due(context, name: str) -> None:
    async with context.sessionmaker() as session:
        await session.execute(text(
            "UPDATE procrastinate_jobs SET scheduled_at = now() WHERE task_name = :name "
            "AND status = 'todo'"), {"name": name})
        await session.commit()


async def _attempts_reach(context, name: str, attempts: int, status: str):
    rows = await job_rows(context, name)
    return rows if rows and rows[0].attempts == attempts and rows[0].status == status else None


async def test_email_jobs_back_off_2_4_8_seconds_then_die(queued, worker):
    worker.start("email")
    async with queued.sessionmaker() as session:
        await enqueue(session, "queue-test-fail", n=1)
        await session.commit()
    for attempts, delay in enumerate((2, 4, 8), start=1):
        [row] = await wait_for(lambda a=attempts: _attempts_reach(queued, "queue-test-fail", a,
                                                                  "todo"))
        # From the failure to the next run, both stored: polling delays on a loaded machine
        # do not count.
        async with queued.sessionmaker() as session:
            failed_at = await session.scalar(
                select(JobFailure.failed_at).where(JobFailure.job_id == row.id,
                                                   JobFailure.attempt == attempts))
        waited = (row.scheduled_at - failed_at).total_seconds()
        assert abs(waited - delay) < TOLERANCE_SECONDS, (attempts, waited)
        await _make_due(queued, "queue-test-fail")
    [row] = await wait_for(lambda: _attempts_reach(queued, "queue-test-fail", 4, "failed"))
    async with queued.sessionmaker() as session:
        failures = (await session.scalars(
            select(JobFailure).where(JobFailure.job_id == row.id).order_by(JobFailure.id))).all()
    assert [failure.attempt for failure in failures] == [1, 2, 3, 4]
    assert "RuntimeError: boom 1" in failures[-1].error


async def test_a_permanent_failure_is_a_dead_letter_at_once(queued, worker):
    worker.start("email")
    async with queued.sessionmaker() as session:
        await enqueue(session, "queue-test-refused", n=1)
        await session.commit()
    [row] = await wait_for(lambda: _attempts_reach(queued, "queue-test-refused", 1, "failed"))
    async with queued.sessionmaker() as session:
        [failure] = (await session.scalars(
            select(JobFailure).where(JobFailure.job_id == row.id))).all()
    assert "PermanentFailure: refused 1" in failure.error


async def test_a_dead_letter_retried_through_the_api_runs(queued, worker, client, session):
    headers = await user(client, "jobs_admin")
    await session.execute(update(User).where(User.username == "jobs_admin").values(is_admin=True))
    await session.commit()
    RUNS.failing.add(5)
    worker.start("analytics")
    async with queued.sessionmaker() as db:
        await enqueue(db, "queue-test-flaky", n=5)
        await db.commit()
    # Analytics jobs are never retried: the first failure makes a dead letter.
    [dead] = await wait_for(lambda: _attempts_reach(queued, "queue-test-flaky", 1, "failed"))

    listed = await client.get("/api/v1/admin/jobs", params={"status": "dead"}, headers=headers)
    assert listed.status_code == 200
    [item] = listed.json()["items"]
    assert (item["id"], item["status"], item["queue"]) == (dead.id, "dead", "analytics")
    assert "RuntimeError: flaky 5" in item["last_error"]

    RUNS.failing.clear()
    retried = await client.post(f"/api/v1/admin/jobs/{dead.id}/retry", headers=headers)
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "waiting"
    await wait_for(lambda: RUNS.done == [("flaky", 5)])
    # Two runs, and procrastinate counts the manual retry as one more attempt.
    [row] = await wait_for(lambda: _attempts_reach(queued, "queue-test-flaky", 3, "succeeded"))
    detail = (await client.get(f"/api/v1/admin/jobs/{row.id}", headers=headers)).json()
    assert [failure["attempt"] for failure in detail["failures"]] == [1]
