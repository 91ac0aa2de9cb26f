"""Enqueue a job in the caller's transaction: it exists if and only if the caller commits."""

import json
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.platform.queue import inline, repository
from lifeceo.platform.queue.context import bound_to
from lifeceo.platform.queue.queues import Priority
from lifeceo.platform.queue.registry import definition


async def enqueue(
    session: AsyncSession,
    name: str,
    /,
    *,
    lock: str | None = None,
    queueing_lock: str | None = None,
    priority: int = Priority.NORMAL,
    schedule_at: datetime | None = None,
    **kwargs: Any,
) -> int | None:
    """Write the job `name` with keyword arguments `kwargs` in `session`'s transaction.

    `lock`: jobs sharing it run one at a time. `queueing_lock`: while a job with it waits, more
    are not added. `priority`: higher runs first. Returns the job id, or None when inline or when
    the queueing lock left the job out.
    """
    job = definition(name)
    if schedule_at is not None and schedule_at.utcoffset() is None:
        raise ValueError("schedule_at must be an aware datetime")
    # What a worker will get back from the database, so that inline runs see the same.
    args = json.loads(json.dumps(kwargs))
    context = bound_to(session)
    if context is not None and context.settings.jobs_inline:
        await inline.run_after_commit(session, context, job, args)
        return None
    return await repository.defer(session, queue=job.queue, name=name, args=args, lock=lock,
                                  queueing_lock=queueing_lock, priority=int(priority),
                                  schedule_at=schedule_at)
