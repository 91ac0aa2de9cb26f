"""Jobs and periodic schedules by name, registered at import (see lifeceo.jobs)."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from lifeceo.platform.queue.queues import QUEUES

Handler = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class JobDefinition:
    name: str
    queue: str
    handler: Handler


class UnknownJob(LookupError):
    """No imported module registered a job of this name."""


JOBS: dict[str, JobDefinition] = {}
# Job name -> cron expression, read in settings.jobs_timezone.
SCHEDULES: dict[str, str] = {}


def job(name: str, *, queue: str) -> Callable[[Handler], Handler]:
    """Register `async def handler(ctx: JobContext, **kwargs)` as the job `name` on `queue`;
    retries and the timeout come from the queue."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}; the queues are {sorted(QUEUES)}")

    def register(handler: Handler) -> Handler:
        existing = JOBS.get(name)
        if existing is not None and existing.handler is not handler:
            raise ValueError(f"job {name!r} is already registered by "
                             f"{existing.handler.__module__}.{existing.handler.__qualname__}")
        JOBS[name] = JobDefinition(name, queue, handler)
        return handler

    return register


def schedule(name: str, *, cron: str) -> None:
    """Run the job `name` (no arguments) at the times of `cron`, in settings.jobs_timezone."""
    SCHEDULES[name] = cron


def definition(name: str) -> JobDefinition:
    try:
        return JOBS[name]
    except KeyError:
        raise UnknownJob(f"no job named {name!r}; is its module imported in lifeceo.jobs?") from None
