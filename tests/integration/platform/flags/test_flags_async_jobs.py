"""bullmq-jobs, flipped at runtime: on, jobs wait in the durable queue for a worker; off, they run
inline right after the enqueuing transaction commits (jobs scheduled for later still wait)."""

from datetime import UTC, datetime, timedelta

from flipping import flip
from sqlalchemy import text

from lifeceo.platform.queue import JobContext, enqueue, job

RAN: list[int] = []


@job("flags-test-record", queue="data-sync")
async def record(ctx: JobContext, *, n: int) -> None:
    RAN.append(n)


async def _enqueue(context: JobContext, n: int, **options) -> int | None:
    async with context.sessionmaker() as session:
        job_id = await enqueue(session, "flags-test-record", n=n, **options)
        await session.commit()
    return job_id


async def _waiting(context: JobContext) -> list[int]:
    async with context.engine.connect() as connection:
        rows = await connection.execute(text(
            "SELECT (args->>'n')::int FROM procrastinate_jobs "
            "WHERE task_name = 'flags-test-record' AND status = 'todo' ORDER BY id"))
        return [row[0] for row in rows]


async def test_jobs_are_queued_while_on_and_run_inline_while_off(client, admin, queued):
    RAN.clear()
    assert await _enqueue(queued, 1) is not None
    assert (RAN, await _waiting(queued)) == ([], [1])

    await flip(client, admin, "bullmq-jobs", enabled=False)
    assert await _enqueue(queued, 2) is None
    # Ran when the commit returned, in this process; nothing was added to the queue.
    assert (RAN, await _waiting(queued)) == ([2], [1])
    # A job due later is not run now.
    await _enqueue(queued, 3, schedule_at=datetime.now(UTC) + timedelta(hours=1))
    assert (RAN, await _waiting(queued)) == ([2], [1, 3])

    await flip(client, admin, "bullmq-jobs", enabled=True)
    await _enqueue(queued, 4)
    assert (RAN, await _waiting(queued)) == ([2], [1, 3, 4])


async def test_the_callers_inline_keyword_overrides_the_flag(client, admin, queued):
    RAN.clear()
    await flip(client, admin, "bullmq-jobs", enabled=False)
    # A caller that must not wait for the job (a notification) queues it while the flag is off.
    assert await _enqueue(queued, 1, inline=False) is not None
    assert (RAN, await _waiting(queued)) == ([], [1])
    await flip(client, admin, "bullmq-jobs", enabled=True)
    assert await _enqueue(queued, 2, inline=True) is None
    assert (RAN, await _waiting(queued)) == ([2], [1])
