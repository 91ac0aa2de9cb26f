"""/api/v1/admin/jobs: administrators only; bad input is a problem+json 4xx; queue statistics and
the readiness check."""

import pytest
from queue_helpers import RUNS, job_rows, wait_for
from sqlalchemy import func, select, text
from tests.factories import user

from lifeceo.platform.queue import enqueue, queue_check
from lifeceo.platform.queue.models import JobFailure

JOBS = "/api/v1/admin/jobs"


async def _enqueue(context, name: str, **kwargs) -> int:
    async with context.sessionmaker() as session:
        job_id = await enqueue(session, name, **kwargs)
        await session.commit()
    return job_id


async def test_only_administrators_manage_jobs(client, queued):
    job_id = await _enqueue(queued, "queue-test-record", n=1)
    assert (await client.get(JOBS)).status_code == 401
    member = await user(client, "queue_member")
    for method, path in (("GET", JOBS), ("GET", f"{JOBS}/queues"), ("DELETE", f"{JOBS}/dead"),
                         ("POST", f"{JOBS}/{job_id}/cancel")):
        response = await client.request(method, path, headers=member)
        assert response.status_code == 403, path
        assert response.headers["content-type"] == "application/problem+json"
    [row] = await job_rows(queued, "queue-test-record")
    assert row.status == "todo"


@pytest.mark.parametrize(("path", "params", "status"), [
    (JOBS, {"status": "exploded"}, 422),
    (JOBS, {"queue": "mail"}, 422),
    (JOBS, {"cursor": "not-a-cursor"}, 400),
    (JOBS, {"limit": "1000"}, 422),
    (f"{JOBS}/0", {}, 422),
    # Not a job id: no such route (digits only, so that /admin/jobs/dead is not one).
    (f"{JOBS}/abc", {}, 404),
    (f"{JOBS}/99999", {}, 404),
])
async def test_bad_input_is_a_problem(client, admin, queued, path, params, status):
    response = await client.get(path, params=params, headers=admin)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == status


async def test_list_filters_and_pages(client, admin, queued):
    ids = [await _enqueue(queued, "queue-test-record", n=n) for n in range(3)]
    other = await _enqueue(queued, "queue-test-span", n=9)
    first = await client.get(JOBS, params={"queue": "email", "limit": 2}, headers=admin)
    assert [job["id"] for job in first.json()["items"]] == [ids[2], ids[1]]
    second = await client.get(JOBS, params={"queue": "email", "limit": 2,
                                            "cursor": first.json()["next_cursor"]}, headers=admin)
    assert ([job["id"] for job in second.json()["items"]], second.json()["next_cursor"]) == (
        [ids[0]], None)
    waiting = await client.get(JOBS, params={"status": "waiting", "queue": "notifications"},
                               headers=admin)
    [job] = waiting.json()["items"]
    assert (job["id"], job["name"], job["args"], job["status"]) == (
        other, "queue-test-span", {"n": 9}, "waiting")


async def test_cancel_a_waiting_job_then_refuse_to_cancel_or_retry_it(client, admin, queued):
    job_id = await _enqueue(queued, "queue-test-record", n=1)
    cancelled = await client.post(f"{JOBS}/{job_id}/cancel", headers=admin)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    for action in ("cancel", "retry"):
        response = await client.post(f"{JOBS}/{job_id}/{action}", headers=admin)
        assert response.status_code == 409
        assert response.headers["content-type"] == "application/problem+json"


async def test_purge_deletes_dead_letters_and_their_errors(client, admin, queued, worker):
    await _enqueue(queued, "queue-test-flaky", n=1)
    await _enqueue(queued, "queue-test-flaky", n=2)
    RUNS.failing.update({1, 2})
    worker.start("analytics")
    await wait_for(lambda: _count(queued, "failed", 2))
    purged = await client.delete(f"{JOBS}/dead", params={"queue": "analytics"}, headers=admin)
    assert purged.json() == {"deleted": 2}
    assert await job_rows(queued, "queue-test-flaky") == []
    async with queued.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(JobFailure)) == 0


async def _count(context, status: str, expected: int) -> bool:
    async with context.sessionmaker() as session:
        found = await session.scalar(text(
            "SELECT count(*) FROM procrastinate_jobs WHERE status::text = :status"),
            {"status": status})
    return found == expected


async def test_queue_report_counts_and_times(client, admin, queued, worker):
    for n in range(25):
        await _enqueue(queued, "queue-test-record", n=n)
    await _enqueue(queued, "queue-test-span", n=1)
    RUNS.failing.add(1)
    await _enqueue(queued, "queue-test-flaky", n=1)
    worker.start("email", "analytics")
    await wait_for(lambda: _count(queued, "succeeded", 25))
    await wait_for(lambda: _count(queued, "failed", 1))
    report = (await client.get(f"{JOBS}/queues", headers=admin)).json()
    queues = {queue["queue"]: queue for queue in report["queues"]}
    assert set(queues) == {"email", "image-processing", "analytics", "notifications",
                           "data-sync", "performance-metrics"}
    email, notifications = queues["email"], queues["notifications"]
    assert (email["succeeded_runs"], email["failed_runs"], email["waiting"]) == (25, 0, 0)
    assert (queues["analytics"]["failed_runs"], queues["analytics"]["dead"]) == (1, 1)
    assert email["duration_p95_ms"] is not None and email["throughput_per_minute"] > 0
    assert (notifications["waiting"], notifications["succeeded_runs"]) == (1, 0)
    assert notifications["oldest_waiting_seconds"] >= 0
    # Too few runs for percentiles.
    assert notifications["duration_p50_ms"] is None


async def test_readiness_warns_when_a_job_waits_too_long(queued):
    job_id = await _enqueue(queued, "queue-test-span", n=1)
    check = queue_check(queued.settings, queued.engine)
    fresh = {result.measurement: result for result in await check()}
    assert (fresh["oldestWaiting"].status, fresh["waiting"].observed_value) == ("pass", 1)
    async with queued.sessionmaker() as session:
        await session.execute(text(
            "UPDATE procrastinate_events SET at = now() - interval '1 hour' WHERE job_id = :id"),
            {"id": job_id})
        await session.commit()
    stale = {result.measurement: result for result in await check()}
    assert stale["oldestWaiting"].status == "warn"
    assert "notifications" in stale["oldestWaiting"].output
