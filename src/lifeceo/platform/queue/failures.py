"""Failed runs, kept with their error: what makes a dead letter worth reading."""

import traceback

import structlog
from procrastinate.jobs import Job

from lifeceo.platform.queue import repository
from lifeceo.platform.queue.context import JobContext
from lifeceo.platform.queue.models import MAX_ERROR_CHARS

log = structlog.get_logger(__name__)


def describe(exc: BaseException) -> str:
    """The exception and the innermost frames of its traceback, within the column's size."""
    text = "".join(traceback.format_exception(exc)).strip()
    if len(text) <= MAX_ERROR_CHARS:
        return text
    head = f"{type(exc).__name__}: {exc}"[: MAX_ERROR_CHARS // 4]
    return f"{head}\n...\n{text[-(MAX_ERROR_CHARS - len(head) - 5):]}"


async def record(context: JobContext, job: Job, exc: BaseException) -> None:
    try:
        async with context.transaction() as session:
            await repository.add_failure(session, job_id=job.id, queue=job.queue,
                                         job_name=job.task_name, attempt=job.attempts + 1,
                                         error=describe(exc))
    except Exception:  # the job's own failure is the one to report; it is retried regardless
        log.exception("could not record a job failure", job_id=job.id, job=job.task_name)
