"""The procrastinate App of a worker process: one task per registered job, with its queue's
retries and timeout, and the periodic schedules in the configured time zone."""

import asyncio
import inspect
from datetime import datetime
from typing import Any

import croniter
import procrastinate
import structlog
from procrastinate.job_context import AbortReason
from procrastinate.job_context import JobContext as ProcrastinateContext

from lifeceo.platform.queue import failures
from lifeceo.platform.queue.context import JobContext
from lifeceo.platform.queue.execution import execute
from lifeceo.platform.queue.queues import QUEUES, JobReleased, check_settings
from lifeceo.platform.queue.registry import JOBS, SCHEDULES, JobDefinition
from lifeceo.settings import Settings

log = structlog.get_logger(__name__)
# The key of our JobContext in procrastinate's additional_context.
CONTEXT = "lifeceo"
# Connections for fetching and finishing jobs and heartbeats (short queries; the handlers use
# the SQLAlchemy engine, and each queue's LISTEN has a connection of its own).
POOL_MAX_SIZE = 4
# A schedule missed by less than this (a worker restarting) is still run once; older ones are
# skipped rather than running a nightly job at noon (procrastinate's default, 10 minutes).
PERIODIC_MAX_DELAY_SECONDS = 600


def build_app(settings: Settings) -> procrastinate.App:
    check_settings(settings)
    # Workers LISTEN for new jobs, a session PgBouncer in transaction mode cannot hold: with
    # database_listen_url set, procrastinate talks to PostgreSQL itself. Without, it still
    # finds new jobs, by polling.
    conninfo = settings.database_listen_url or settings.database_url
    through_pgbouncer = settings.database_pgbouncer and not settings.database_listen_url
    connect_kwargs: dict[str, Any] = (
        {"prepare_threshold": None} if through_pgbouncer
        else {"options": f"-c statement_timeout={settings.database_statement_timeout_ms}"})
    connector = procrastinate.PsycopgConnector(conninfo=conninfo, min_size=1,
                                               max_size=POOL_MAX_SIZE, kwargs=connect_kwargs)
    app = procrastinate.App(connector=connector,
                            periodic_defaults={"max_delay": PERIODIC_MAX_DELAY_SECONDS})
    for definition in JOBS.values():
        app.task(name=definition.name, queue=definition.queue, pass_context=True,
                 retry=QUEUES[definition.queue].backoff)(_runner(definition))
    for name, cron in SCHEDULES.items():
        if name not in JOBS:
            log.warning("periodic job has no handler: its module is not imported in lifeceo.jobs",
                        job=name, cron=cron)
            continue
        periodic = app.periodic_registry.register_task(
            task=app.tasks[name], cron=cron, periodic_id="", configure_kwargs={})
        # procrastinate reads cron in UTC; a croniter started in the zone reads it there. Set
        # where its cached_property would put it (the dataclass is frozen).
        periodic.__dict__["croniter"] = croniter.croniter(
            cron, start_time=datetime.now(settings.jobs_timezone))
    return app


def _runner(definition: JobDefinition):
    # Periodic runs come with the scheduled time; handlers that want it take `timestamp`.
    wants_timestamp = "timestamp" in inspect.signature(definition.handler).parameters

    async def run(job_context: ProcrastinateContext, **args: Any) -> None:
        context: JobContext = job_context.additional_context[CONTEXT]
        if not wants_timestamp:
            args.pop("timestamp", None)
        try:
            await execute(context, definition, args)
        except asyncio.CancelledError:
            if job_context.abort_reason() is not AbortReason.SHUTDOWN:
                raise  # an administrator cancelled it
            asyncio.current_task().uncancel()
            raise JobReleased("the worker stopped before the job finished") from None
        except Exception as exc:
            await failures.record(context, job_context.job, exc)
            raise

    return run
