"""What administrators may do to jobs, and the queue statistics."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.errors import Conflict, NotFound
from lifeceo.platform.queue import repository
from lifeceo.platform.queue.queues import QUEUES
from lifeceo.platform.queue.schemas import (
    FROM_PROCRASTINATE,
    TO_PROCRASTINATE,
    Job,
    JobDetail,
    QueueReport,
    QueueStats,
)

# Statistics cover the last 15 minutes: recent enough to show a change, long enough to count.
STATS_WINDOW_SECONDS = 900
# Percentiles of fewer runs than this are not reported: p95 of 3 runs is noise.
MIN_DURATION_SAMPLES = 20
# Dead letters deleted per transaction.
PURGE_BATCH = 1000


def _job(row: Any) -> Job:
    return Job.model_validate({**row._mapping, "status": FROM_PROCRASTINATE[row.status]})


class JobService:
    async def list_jobs(self, *, session: AsyncSession, status: str | None, queue: str | None,
                   before_id: int | None, limit: int) -> list[Job]:
        rows = await repository.list_jobs(
            session, status=TO_PROCRASTINATE[status] if status else None, queue=queue,
            before_id=before_id, limit=limit)
        return [_job(row) for row in rows]

    async def detail(self, *, session: AsyncSession, job_id: int) -> JobDetail:
        job = await self._get(session, job_id)
        failures = await repository.failures_of(session, job_id)
        return JobDetail(**job.model_dump(), failures=failures)

    async def retry(self, *, session: AsyncSession, job_id: int) -> Job:
        """A dead letter back to the queue, due now (with one more run than its policy gave)."""
        job = await self._get(session, job_id, lock=True)
        if job.status != "dead":
            raise Conflict(f"Only dead jobs can be retried; job {job_id} is {job.status}.")
        await repository.retry(session, job_id)
        return await self._get(session, job_id)

    async def cancel(self, *, session: AsyncSession, job_id: int) -> Job:
        """A waiting job will not run; a running one is asked to stop."""
        job = await self._get(session, job_id, lock=True)
        if job.status not in ("waiting", "running"):
            raise Conflict(f"Only waiting or running jobs can be cancelled; job {job_id} is "
                           f"{job.status}.")
        await repository.cancel(session, job_id)
        return await self._get(session, job_id)

    async def purge_dead(self, *, session: AsyncSession, queue: str | None) -> int:
        deleted = 0
        while True:
            batch = await repository.delete_jobs(session, statuses=repository.DEAD, queue=queue,
                                                 limit=PURGE_BATCH)
            deleted += batch
            if batch < PURGE_BATCH:
                return deleted

    async def report(self, *, session: AsyncSession) -> QueueReport:
        depths = {row.queue: row for row in await repository.queue_depths(session)}
        runs = {row.queue: row for row in await repository.recent_runs(
            session, window_seconds=STATS_WINDOW_SECONDS)}
        failures = await repository.recent_failures(session, window_seconds=STATS_WINDOW_SECONDS)
        queues = []
        for name in QUEUES:
            depth, run = depths.get(name), runs.get(name)
            succeeded = run.succeeded if run else 0
            enough = succeeded >= MIN_DURATION_SAMPLES
            queues.append(QueueStats(
                queue=name,
                waiting=depth.waiting if depth else 0,
                scheduled=depth.scheduled if depth else 0,
                running=depth.running if depth else 0,
                dead=depth.dead if depth else 0,
                oldest_waiting_seconds=depth.oldest_waiting_seconds if depth else None,
                failed_runs=failures.get(name, 0),
                succeeded_runs=succeeded,
                throughput_per_minute=round(succeeded * 60 / STATS_WINDOW_SECONDS, 3),
                duration_p50_ms=round(run.p50_seconds * 1000, 1) if enough else None,
                duration_p95_ms=round(run.p95_seconds * 1000, 1) if enough else None,
            ))
        return QueueReport(window_seconds=STATS_WINDOW_SECONDS,
                           min_duration_samples=MIN_DURATION_SAMPLES, queues=queues)

    @staticmethod
    async def _get(session: AsyncSession, job_id: int, *, lock: bool = False) -> Job:
        row = await repository.job_by_id(session, job_id, lock=lock)
        if row is None:
            raise NotFound(f"No job {job_id}.")
        return _job(row)


job_service = JobService()
