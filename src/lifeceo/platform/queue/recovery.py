"""At least once: the running jobs of a worker that stopped sending heartbeats (killed, lost its
machine) are run again, or become dead letters once out of retries."""

import asyncio

import structlog

from lifeceo.platform.queue import repository
from lifeceo.platform.queue.context import JobContext
from lifeceo.platform.queue.queues import QUEUES

log = structlog.get_logger(__name__)
# Any constant shared by every node: one worker process recovers at a time.
RECOVERY_LOCK_ID = 0x11FEC1


async def recover_stalled_jobs(context: JobContext) -> int:
    """Requeue the stalled jobs; returns how many were found."""
    stalled_after = context.settings.jobs_stalled_after_seconds
    async with context.transaction() as session:
        if not await repository.try_lock(session, RECOVERY_LOCK_ID):
            return 0
        jobs = await repository.stalled_jobs(session, stalled_after_seconds=stalled_after)
        for job in jobs:
            queue = QUEUES.get(job.queue)
            retries = queue.backoff.retries if queue else 0
            if job.attempts < retries:
                await repository.retry(session, job.id)
            else:
                await repository.mark_dead(session, job.id)
            await repository.add_failure(
                session, job_id=job.id, queue=job.queue, job_name=job.name,
                attempt=job.attempts + 1,
                error=f"worker {job.worker_id} stopped sending heartbeats for over "
                      f"{stalled_after:g} s while running the job")
            log.warning("stalled job recovered", job_id=job.id, job=job.name,
                        worker_id=job.worker_id, retried=job.attempts < retries)
    return len(jobs)


async def watch_stalled_jobs(context: JobContext) -> None:
    """Forever: look for stalled jobs once per heartbeat interval."""
    while True:
        try:
            await recover_stalled_jobs(context)
        except Exception:  # the database may be down for a while; try again next time
            log.exception("stalled job recovery failed")
        await asyncio.sleep(context.settings.jobs_heartbeat_seconds)
