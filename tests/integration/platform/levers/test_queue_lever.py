"""The queue lever through the API, reaching a job worker (its own live hub) and resizing how
many jobs of a queue run at once there."""

import asyncio

from sqlalchemy import text, update
from tests import factories
from tests.waiting import eventually

from lifeceo.community.users.models import User
from lifeceo.platform.queue import enqueue, job
from lifeceo.platform.queue.gates import GATES
from lifeceo.platform.queue.worker import run_worker

LEVERS = "/api/v1/admin/levers"
RELEASE = asyncio.Event()


@job("levers-test-hold", queue="analytics")
async def hold(ctx) -> None:
    await RELEASE.wait()


async def _running(count: int) -> bool:
    gate = GATES.get("analytics")
    return gate is not None and gate.running == count


async def test_a_queue_s_concurrency_changes_in_the_worker_and_comes_back(queued, client,
                                                                          session):
    headers = await factories.user(client, "boss")
    await session.execute(update(User).where(User.username == "boss").values(is_admin=True))
    await session.commit()
    RELEASE.clear()
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(queued.settings, queues=["analytics"], stop=stop))
    try:
        async def worker_reports() -> bool:
            report = (await client.get(LEVERS, headers=headers)).json()
            return any(process["role"] == "worker" for process in report["processes"])

        await eventually(worker_reports, timeout=20)
        pulled = await client.post(f"{LEVERS}/queue", headers=headers,
                                   json={"target": "analytics", "value": "1", "seconds": 60})
        assert pulled.status_code == 200, pulled.text
        await eventually(lambda: _limit(1))
        async with queued.sessionmaker() as jobs:
            for _ in range(4):
                await enqueue(jobs, "levers-test-hold")
            await jobs.commit()
        await eventually(lambda: _running(1), timeout=10)
        await asyncio.sleep(0.5)
        # One slot: one job fetched and running, the other three left in the database, free for
        # another node's worker.
        assert GATES["analytics"].running == 1
        assert await _statuses(queued) == {"doing": 1, "todo": 3}

        await client.post(f"{LEVERS}/queue", headers=headers,
                          json={"target": "analytics", "value": "2", "seconds": 60})
        await eventually(lambda: _running(2))
        report = (await client.get(LEVERS, headers=headers)).json()
        [state] = [process["levers"]["queue"] for process in report["processes"]
                   if process["role"] == "worker"]
        assert {key: state["analytics"][key] for key in ("concurrency", "default", "running")} == {
            "concurrency": 2, "default": 3, "running": 2}
        assert await _statuses(queued) == {"doing": 2, "todo": 2}

        # Undone: the queue's configured concurrency (3) again.
        assert (await client.delete(f"{LEVERS}/queue", params={"target": "analytics"},
                                    headers=headers)).status_code == 204
        await eventually(lambda: _running(3))
    finally:
        RELEASE.set()
        stop.set()
        assert await asyncio.wait_for(worker, 60) == 0
        GATES.clear()


async def _statuses(queued) -> dict[str, int]:
    async with queued.sessionmaker() as db:
        rows = await db.execute(text("SELECT status, count(*) FROM procrastinate_jobs"
                                     " WHERE task_name = 'levers-test-hold' GROUP BY 1"))
        return {status: count for status, count in rows}


async def _limit(limit: int) -> bool:
    gate = GATES.get("analytics")
    return gate is not None and gate.limit == limit
