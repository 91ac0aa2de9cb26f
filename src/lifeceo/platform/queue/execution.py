"""Running one job: the same in a worker and inline."""

import asyncio
import time
from typing import Any

from lifeceo.platform.observability.errors import report_job_error
from lifeceo.platform.observability.metrics import observe_job
from lifeceo.platform.observability.tracing import JOB_TRACE_ARG, job_span
from lifeceo.platform.queue.context import JobContext
from lifeceo.platform.queue.registry import JobDefinition


async def execute(context: JobContext, definition: JobDefinition, args: dict[str, Any]) -> None:
    """Run the handler under its queue's timeout (TimeoutError past it), in a span linked to the
    request that enqueued it; a failure is reported (Sentry) before it propagates."""
    args = dict(args)
    carrier = args.pop(JOB_TRACE_ARG, None)  # taken out even where tracing is off
    with job_span(name=definition.name, queue=definition.queue, carrier=carrier):
        started = time.perf_counter()
        try:
            async with asyncio.timeout(context.settings.jobs_timeout_seconds[definition.queue]):
                await definition.handler(context, **args)
        except Exception as exc:
            observe_job(definition.queue, seconds=time.perf_counter() - started, failed=True)
            report_job_error(exc, job=definition.name, queue=definition.queue)
            raise
        observe_job(definition.queue, seconds=time.perf_counter() - started, failed=False)
