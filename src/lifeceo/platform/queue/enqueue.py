"""Enqueue a job in the caller's transaction: it exists if and only if the caller commits."""

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.platform import flags
from lifeceo.platform.flags.defaults import ASYNC_JOBS, ON_BY_DEFAULT
from lifeceo.platform.observability.tracing import JOB_TRACE_ARG, job_trace_context
from lifeceo.platform.queue import inline as inline_run
from lifeceo.platform.queue import repository
from lifeceo.platform.queue.context import JobContext, bound_to
from lifeceo.platform.queue.queues import Priority
from lifeceo.platform.queue.registry import JobDefinition, definition


async def enqueue(
    session: AsyncSession,
    name: str,
    /,
    *,
    lock: str | None = None,
    queueing_lock: str | None = None,
    priority: int = Priority.NORMAL,
    schedule_at: datetime | None = None,
    inline: bool | None = None,
    **kwargs: Any,
) -> int | None:
    """Write the job `name` with keyword arguments `kwargs` in `session`'s transaction.

    `lock`: jobs sharing it run one at a time. `queueing_lock`: while a job with it waits, more
    are not added. `priority`: higher runs first. `inline`: see `_runs_inline`. Returns the job
    id, or None when inline or when the queueing lock left the job out.
    """
    job = _checked(name, schedule_at)
    # What a worker will get back from the database, so that inline runs see the same.
    args = json.loads(json.dumps(kwargs))
    _carry_trace_context(args)
    context = bound_to(session)
    if _runs_inline(context, schedule_at, inline):
        await inline_run.run_after_commit(session, context, job, args)
        return None
    return await repository.defer(session, queue=job.queue, name=name, args=args, lock=lock,
                                  queueing_lock=queueing_lock, priority=int(priority),
                                  schedule_at=schedule_at)


async def enqueue_many(
    session: AsyncSession,
    name: str,
    arguments: Iterable[dict[str, Any]],
    /,
    *,
    priority: int = Priority.NORMAL,
    schedule_at: datetime | None = None,
    inline: bool | None = None,
) -> list[int]:
    """Write one job `name` per keyword-argument dict in `arguments`, in one statement of
    `session`'s transaction (a fan-out: a reminder per attendee). Their ids; [] when inline.

    No locks: a queueing lock's duplicate would fail the whole statement, and a shared lock
    would run the batch one job at a time anyway. `inline`: see `_runs_inline`.
    """
    job = _checked(name, schedule_at)
    batch = [json.loads(json.dumps(kwargs)) for kwargs in arguments]
    for args in batch:
        _carry_trace_context(args)
    context = bound_to(session)
    if _runs_inline(context, schedule_at, inline):
        for args in batch:
            await inline_run.run_after_commit(session, context, job, args)
        return []
    if not batch:
        return []
    return await repository.defer_many(session, queue=job.queue, name=name, batch=batch,
                                       priority=int(priority), schedule_at=schedule_at)


def _runs_inline(context: JobContext | None, schedule_at: datetime | None,
                 inline: bool | None) -> bool:
    """Inline by configuration (no worker runs then), else as the caller's `inline` says, else
    (None) while the bullmq-jobs flag is off in this process, and then only jobs due now: a
    reminder scheduled for tomorrow still waits in the queue. `inline=False` is for a caller
    whose transaction must not wait for the job (a notification's receiver)."""
    if context is None:
        return False
    if context.settings.jobs_inline:
        return True
    if inline is not None:
        return inline
    return schedule_at is None and not flags.current().is_enabled(
        ASYNC_JOBS, ON_BY_DEFAULT[ASYNC_JOBS])


def _checked(name: str, schedule_at: datetime | None) -> JobDefinition:
    """The job's definition (UnknownJob if there is none), once its schedule is checked."""
    job = definition(name)
    if schedule_at is not None and schedule_at.utcoffset() is None:
        raise ValueError("schedule_at must be an aware datetime")
    return job


def _carry_trace_context(args: dict[str, Any]) -> None:
    """With tracing on, the job takes the enqueuing span's context along; its span links to it."""
    carrier = job_trace_context()
    if carrier is not None:
        args[JOB_TRACE_ARG] = carrier
