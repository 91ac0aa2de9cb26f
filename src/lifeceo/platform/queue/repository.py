"""All SQL on procrastinate's tables: jobs are written with its defer function, in the caller's
transaction, and read for the admin API."""

import json
from datetime import datetime
from typing import Any

from psycopg.errors import UniqueViolation
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.platform.queue.models import JobFailure

# The partial unique index behind queueing locks (one waiting job per value).
QUEUEING_LOCK_INDEX = "procrastinate_jobs_queueing_lock_idx_v1"

DEFER = text("""
SELECT (procrastinate_defer_jobs_v1(ARRAY[ROW(
    :queue, :name, :priority, :lock, :queueing_lock, CAST(:args AS jsonb),
    CAST(:schedule_at AS timestamptz)
)::procrastinate_job_to_defer_v1]))[1]
""")


async def defer(session: AsyncSession, *, queue: str, name: str, args: dict[str, Any],
                lock: str | None, queueing_lock: str | None, priority: int,
                schedule_at: datetime | None) -> int | None:
    """The new job's id; None if a job with the same queueing lock is already waiting."""
    params = {"queue": queue, "name": name, "priority": priority, "lock": lock,
              "queueing_lock": queueing_lock, "args": json.dumps(args),
              "schedule_at": schedule_at}
    if queueing_lock is None:
        return await session.scalar(DEFER, params)
    # A savepoint: the duplicate's unique violation must not abort the caller's transaction.
    try:
        async with session.begin_nested():
            return await session.scalar(DEFER, params)
    except IntegrityError as exc:
        cause = exc.orig
        if isinstance(cause, UniqueViolation) and cause.diag.constraint_name == QUEUEING_LOCK_INDEX:
            return None
        raise


# One row per job, from parallel arrays: the statement's size does not grow with the batch.
DEFER_MANY = text("""
SELECT procrastinate_defer_jobs_v1(array_agg(ROW(
    :queue, :name, :priority, NULL, NULL, job.args, CAST(:schedule_at AS timestamptz)
)::procrastinate_job_to_defer_v1 ORDER BY job.position))
  FROM unnest(CAST(:args AS jsonb[])) WITH ORDINALITY AS job(args, position)
""")


async def defer_many(session: AsyncSession, *, queue: str, name: str,
                     batch: list[dict[str, Any]], priority: int,
                     schedule_at: datetime | None) -> list[int]:
    """The new jobs' ids."""
    return list(await session.scalar(DEFER_MANY, {
        "queue": queue, "name": name, "priority": priority, "schedule_at": schedule_at,
        "args": [json.dumps(args) for args in batch]}))


async def add_failure(session: AsyncSession, *, job_id: int, queue: str, job_name: str,
                      attempt: int, error: str) -> None:
    session.add(JobFailure(job_id=job_id, queue=queue, job_name=job_name, attempt=attempt,
                           error=error))


async def try_lock(session: AsyncSession, lock_id: int) -> bool:
    """A transaction-level advisory lock, or False at once if another session holds it."""
    return await session.scalar(text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": lock_id})


async def stalled_jobs(session: AsyncSession, *, stalled_after_seconds: float) -> list[Any]:
    """Running jobs whose worker is gone (its row pruned) or silent for too long, locked."""
    rows = await session.execute(text("""
        SELECT job.id, job.queue_name AS queue, job.task_name AS name, job.attempts,
               job.worker_id
          FROM procrastinate_jobs job
          LEFT JOIN procrastinate_workers worker ON worker.id = job.worker_id
         WHERE job.status = 'doing'
           AND (worker.id IS NULL
                OR worker.last_heartbeat < now() - make_interval(secs => :stalled_after))
           FOR UPDATE OF job SKIP LOCKED
    """), {"stalled_after": stalled_after_seconds})
    return list(rows)


async def retry(session: AsyncSession, job_id: int) -> None:
    """A running or dead job back to waiting, due now (procrastinate counts the attempt)."""
    await session.execute(text(
        "SELECT procrastinate_retry_job_v2(:id, now(), NULL, NULL, NULL)"), {"id": job_id})


async def mark_dead(session: AsyncSession, job_id: int) -> None:
    await session.execute(text("SELECT procrastinate_finish_job_v1(:id, 'failed', false)"),
                          {"id": job_id})


FINISHED = ("succeeded", "cancelled", "aborted")
DEAD = ("failed",)


async def delete_jobs(session: AsyncSession, *, statuses: tuple[str, ...],
                      older_than_seconds: float = 0, queue: str | None = None,
                      limit: int) -> int:
    """Delete up to `limit` jobs in `statuses` whose last event is older than the age, with
    their recorded failures; returns how many."""
    deleted = await session.scalars(text("""
        WITH doomed AS (
            SELECT job.id FROM procrastinate_jobs job
             WHERE job.status::text = ANY(:statuses)
               AND (CAST(:queue AS text) IS NULL OR job.queue_name = :queue)
               AND (SELECT max(event.at) FROM procrastinate_events event
                     WHERE event.job_id = job.id)
                   < now() - make_interval(secs => :older_than)
             LIMIT :limit
               FOR UPDATE SKIP LOCKED
        )
        DELETE FROM procrastinate_jobs WHERE id IN (SELECT id FROM doomed) RETURNING id
    """), {"statuses": list(statuses), "queue": queue, "older_than": older_than_seconds,
           "limit": limit})
    ids = list(deleted)
    if ids:
        await session.execute(delete(JobFailure).where(JobFailure.job_id.in_(ids)))
    return len(ids)


# The columns the admin API shows; created_at is when procrastinate recorded the job deferred.
JOB_COLUMNS = """
    job.id, job.queue_name AS queue, job.task_name AS name, job.status::text AS status,
    job.priority, job.attempts, job.lock, job.queueing_lock, job.args, job.scheduled_at,
    job.abort_requested,
    COALESCE((SELECT min(event.at) FROM procrastinate_events event
               WHERE event.job_id = job.id AND event.type = 'deferred'),
             job.scheduled_at, now()) AS created_at,
    (SELECT failure.error FROM job_failures failure
      WHERE failure.job_id = job.id ORDER BY failure.id DESC LIMIT 1) AS last_error
"""


async def list_jobs(session: AsyncSession, *, status: str | None, queue: str | None,
                    before_id: int | None, limit: int) -> list[Any]:
    """Newest first."""
    rows = await session.execute(text(f"""
        SELECT {JOB_COLUMNS} FROM procrastinate_jobs job
         WHERE (CAST(:status AS text) IS NULL OR job.status::text = :status)
           AND (CAST(:queue AS text) IS NULL OR job.queue_name = :queue)
           AND (CAST(:before_id AS bigint) IS NULL OR job.id < :before_id)
         ORDER BY job.id DESC
         LIMIT :limit
    """), {"status": status, "queue": queue, "before_id": before_id, "limit": limit})
    return list(rows)


async def job_by_id(session: AsyncSession, job_id: int, *, lock: bool = False) -> Any | None:
    suffix = "FOR UPDATE OF job" if lock else ""
    rows = await session.execute(text(
        f"SELECT {JOB_COLUMNS} FROM procrastinate_jobs job WHERE job.id = :id {suffix}"),
        {"id": job_id})
    return rows.first()


async def failures_of(session: AsyncSession, job_id: int) -> list[JobFailure]:
    rows = await session.scalars(
        select(JobFailure).where(JobFailure.job_id == job_id).order_by(JobFailure.id))
    return list(rows)


async def cancel(session: AsyncSession, job_id: int) -> None:
    """A waiting job becomes cancelled; a running one is asked to abort (its worker is told)."""
    await session.execute(text("SELECT procrastinate_cancel_job_v1(:id, true, false)"),
                          {"id": job_id})


async def queue_depths(session: AsyncSession) -> list[Any]:
    """Per queue with unfinished jobs: waiting (due), scheduled (later), running and dead
    counts, and how long the oldest due job has waited (from when it became due)."""
    rows = await session.execute(text("""
        WITH counts AS (
            SELECT queue_name,
                   count(*) FILTER (WHERE status = 'todo'
                                      AND (scheduled_at IS NULL OR scheduled_at <= now()))
                       AS waiting,
                   count(*) FILTER (WHERE status = 'todo' AND scheduled_at > now()) AS scheduled,
                   count(*) FILTER (WHERE status = 'doing') AS running,
                   count(*) FILTER (WHERE status = 'failed') AS dead,
                   min(scheduled_at) FILTER (WHERE status = 'todo' AND scheduled_at <= now())
                       AS earliest_due,
                   -- Ids grow: the lowest unscheduled waiting job is the oldest one.
                   min(id) FILTER (WHERE status = 'todo' AND scheduled_at IS NULL)
                       AS oldest_unscheduled
              FROM procrastinate_jobs
             WHERE status IN ('todo', 'doing', 'failed')
             GROUP BY queue_name
        )
        SELECT counts.queue_name AS queue, waiting, scheduled, running, dead,
               extract(epoch FROM now() - LEAST(
                   earliest_due,
                   (SELECT min(event.at) FROM procrastinate_events event
                     WHERE event.job_id = oldest_unscheduled AND event.type = 'deferred')
               ))::float AS oldest_waiting_seconds
          FROM counts
    """))
    return list(rows)


async def recent_runs(session: AsyncSession, *, window_seconds: float) -> list[Any]:
    """Per queue, the runs that succeeded within the window and their durations in seconds."""
    rows = await session.execute(text("""
        SELECT job.queue_name AS queue, count(*) AS succeeded,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY run.seconds) AS p50_seconds,
               percentile_cont(0.95) WITHIN GROUP (ORDER BY run.seconds) AS p95_seconds
          FROM procrastinate_events done
          JOIN procrastinate_jobs job ON job.id = done.job_id
         CROSS JOIN LATERAL (
               SELECT extract(epoch FROM done.at - max(started.at))::float AS seconds
                 FROM procrastinate_events started
                WHERE started.job_id = done.job_id AND started.type = 'started'
                  AND started.at <= done.at) run
         WHERE done.type = 'succeeded' AND done.at > now() - make_interval(secs => :window)
         GROUP BY job.queue_name
    """), {"window": window_seconds})
    return list(rows)


async def recent_failures(session: AsyncSession, *, window_seconds: float) -> dict[str, int]:
    rows = await session.execute(
        select(JobFailure.queue, func.count())
        .where(JobFailure.failed_at > func.now() - func.make_interval(0, 0, 0, 0, 0, 0,
                                                                       window_seconds))
        .group_by(JobFailure.queue))
    return {queue: count for queue, count in rows}
