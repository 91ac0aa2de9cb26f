"""Queueing locks de-duplicate waiting jobs, locks serialise running ones, priority orders them."""

from itertools import pairwise

from queue_helpers import RUNS, job_rows, wait_for

from lifeceo.platform.queue import Priority, enqueue


async def test_a_queueing_lock_keeps_one_waiting_job(queued, worker):
    async with queued.sessionmaker() as session:
        first = await enqueue(session, "queue-test-record", n=1, queueing_lock="index:post:1")
        duplicate = await enqueue(session, "queue-test-record", n=2, queueing_lock="index:post:1")
        other = await enqueue(session, "queue-test-record", n=3, queueing_lock="index:post:2")
        await session.commit()
    assert first is not None and other is not None and duplicate is None
    worker.start("email")
    await wait_for(lambda: len(RUNS.done) == 2)
    # Once the job has started, the next change to the entity queues a new one.
    async with queued.sessionmaker() as session:
        assert await enqueue(session, "queue-test-record", n=4,
                             queueing_lock="index:post:1") is not None
        await session.commit()
    await wait_for(lambda: len(RUNS.done) == 3)
    assert sorted(n for _, n in RUNS.done) == [1, 3, 4]


async def test_higher_priority_runs_first(queued, worker):
    async with queued.sessionmaker() as session:
        for n, priority in ((1, Priority.LOW), (2, Priority.NORMAL), (3, Priority.URGENT),
                            (4, Priority.NORMAL)):
            await enqueue(session, "queue-test-span", n=n, priority=priority)
        await session.commit()
    worker.start("notifications", concurrency=1)
    await wait_for(lambda: len(RUNS.spans) == 4)
    assert [n for n, _, _ in RUNS.spans] == ["3", "2", "4", "1"]


async def test_jobs_sharing_a_lock_never_overlap(queued, worker):
    async with queued.sessionmaker() as session:
        for n in range(3):
            await enqueue(session, "queue-test-span", n=n, seconds=0.2, lock="media:9")
        await session.commit()
    worker.start("notifications", concurrency=3)
    await wait_for(lambda: len(RUNS.spans) == 3)
    spans = sorted((start, end) for _, start, end in RUNS.spans)
    assert all(previous_end <= start for (_, previous_end), (start, _) in pairwise(spans))
    await wait_for(lambda: _all_succeeded(queued, "queue-test-span"))


async def _all_succeeded(context, name: str) -> bool:
    return {row.status for row in await job_rows(context, name)} == {"succeeded"}
