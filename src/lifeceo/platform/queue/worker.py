"""A worker process: one procrastinate worker per queue (each with the queue's concurrency), the
stalled-job watcher, and graceful shutdown on SIGTERM or SIGINT."""

import asyncio
import signal
import sys
from collections.abc import Sequence
from typing import TextIO

import procrastinate
import structlog

from lifeceo.platform.cache import Cache
from lifeceo.platform.chaos.board import follow_chaos
from lifeceo.platform.db.engine import create_engine, create_sessionmaker
from lifeceo.platform.db.errors import database_unavailable
from lifeceo.platform.flags import switches as flag_switches
from lifeceo.platform.levers.queues import follow_levers, open_gates
from lifeceo.platform.observability.errors import configure_error_reporting
from lifeceo.platform.observability.logs_shipper import LogShipper
from lifeceo.platform.observability.metrics_process import start_process_metrics
from lifeceo.platform.observability.tracing import configure_tracing, instrument_engine
from lifeceo.platform.pubsub import LiveHub
from lifeceo.platform.queue.context import JobContext, bind
from lifeceo.platform.queue.gates import GATES, GatedWorker, close_gates
from lifeceo.platform.queue.procrastinate_app import CONTEXT, build_app
from lifeceo.platform.queue.queues import QUEUES, QueueConfigError
from lifeceo.platform.queue.reconnect import DATABASE_LOST, wait_for_database
from lifeceo.platform.queue.recovery import watch_stalled_jobs
from lifeceo.settings import Settings

log = structlog.get_logger(__name__)
# LISTEN/NOTIFY starts new jobs at once; the poll finds jobs that became due (retries after a
# backoff, schedule_at), which send no notification. Once a second keeps a 1 s backoff 1 s.
FETCH_POLL_SECONDS = 1.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def run_worker(settings: Settings, *, queues: Sequence[str] | None = None,
                     concurrency: int | None = None, stop: asyncio.Event | None = None,
                     stop_on_stdin_eof: bool = False) -> int:
    """Work the queues (all by default) until `stop` is set, or without one until SIGTERM or
    SIGINT (or the end of stdin, when asked); returns the exit code."""
    queues = list(queues or QUEUES)
    unknown = sorted(set(queues) - set(QUEUES))
    if unknown:
        raise QueueConfigError(f"unknown queues {unknown}; the queues are {sorted(QUEUES)}")
    app = build_app(settings)
    # This process's tracer and error reporting (nothing unless configured), as a web worker's.
    configure_tracing(settings, role="worker")
    configure_error_reporting(settings)
    engine = create_engine(settings, settings.database_url)
    instrument_engine(engine)
    sessionmaker = create_sessionmaker(engine)
    # Its warnings and errors go to log_records beside the web workers'; started first, so that
    # those of its startup (Redis down, say) are among them.
    log_shipper = LogShipper.start(settings, sessionmaker, role="worker")
    # The worker's own cache, built as the web processes build theirs.
    cache = Cache.from_settings(settings, engine=engine)
    await cache.start()
    # Its pool, cache, event-loop lag and memory in /api/metrics, beside the web workers'.
    process_metrics = start_process_metrics(settings, engine=engine, cache=cache)
    context = JobContext(settings=settings, sessionmaker=sessionmaker, cache=cache,
                         engine=engine)
    bind(context)
    # The queue lever (a queue's concurrency at runtime) reaches this process over the hub.
    open_gates(queues, concurrency={queue: concurrency or settings.jobs_concurrency[queue]
                                    for queue in queues})
    # One live hub carries both boards.
    hub = LiveHub.from_settings(settings, engine=engine,
                                prefer_redis=flag_switches.live_over_redis)
    await hub.start()
    levers = await follow_levers(settings, hub)
    # Faults of job workers (a stalled queue, slow SMTP), where chaos is armed.
    chaos = await follow_chaos(settings, hub)
    loop = asyncio.get_running_loop()
    on_signals = stop is None
    stop = stop or asyncio.Event()
    if on_signals:
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, stop.set)
    try:
        if stop_on_stdin_eof:
            await _stop_at_end_of(sys.stdin, stop)
        # PostgreSQL going away (a restart, a failover) is waited out here, in this process:
        # exiting cost a new process's start, and jobs then waited 9.4 s after a 5 s outage
        # (1.5 s so), tests/integration/platform/test_database_outage.py.
        while True:
            code = await _open_and_work(app, context, queues, concurrency, stop)
            if code is not DATABASE_LOST:
                return code
            if not await wait_for_database(settings, stop):
                return 0  # stopped while waiting
    finally:
        if on_signals:
            for signum in STOP_SIGNALS:
                loop.remove_signal_handler(signum)
        if process_metrics is not None:
            await process_metrics.close()
        if chaos is not None:
            await chaos.close()
        await levers.close()
        await hub.close()
        close_gates()
        await cache.close()
        # Last before the engine: what the others logged while stopping is shipped too.
        if log_shipper is not None:
            await log_shipper.close()
        await engine.dispose()


async def _open_and_work(app: procrastinate.App, context: JobContext, queues: list[str],
                         concurrency: int | None, stop: asyncio.Event) -> int | object:
    """Work until stopped (0), a failure (1), or the loss of the database (DATABASE_LOST)."""
    try:
        await app.open_async()
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        log.warning("database unreachable; the job worker waits for it", error=str(exc))
        # A pool that failed to open stays in the connector; the next open needs it gone.
        await app.close_async()
        return DATABASE_LOST
    try:
        return await _work(app, context, queues, concurrency, stop)
    finally:
        await app.close_async()


async def _work(app: procrastinate.App, context: JobContext, queues: list[str],
                concurrency: int | None, stop: asyncio.Event) -> int | object:
    settings = context.settings
    app.perform_import_paths()
    workers = [asyncio.create_task(_queue_worker(app, context, queue).run(),
                                   name=f"worker {queue}") for queue in queues]
    watcher = asyncio.create_task(watch_stalled_jobs(context), name="stalled jobs")
    log.info("job worker started", queues=queues, concurrency=concurrency or "per queue")
    stopping = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopping, *workers], return_when=asyncio.FIRST_COMPLETED)
    # A queue's worker ends by itself only when it failed. The database gone: the others are
    # failing too; stop them all and start again once it answers. Anything else: exit non-zero,
    # so that the supervisor starts a fresh process.
    failed = stopping not in done
    lost = failed and _database_lost([task for task in workers if task in done])
    if lost:
        log.warning("a queue worker lost the database; restarting the queues once it answers")
    elif failed:
        log.error("a queue worker stopped unexpectedly; stopping the process")
    else:
        log.info("stopping: running jobs get their grace period, then go back to the queue",
                 grace_seconds=settings.jobs_shutdown_grace_seconds)
    watcher.cancel()
    stopping.cancel()
    for worker in workers:
        worker.cancel()  # procrastinate's graceful stop: no new jobs, wait, then release
    await asyncio.gather(watcher, stopping, *workers, return_exceptions=True)
    log.info("job worker stopped")
    return DATABASE_LOST if lost else 1 if failed else 0


def _queue_worker(app: procrastinate.App, context: JobContext, queue: str) -> GatedWorker:
    """What app.run_worker_async starts, with the queue's gate (the queue lever) as its slots."""
    settings = context.settings
    return GatedWorker(app=app, gate=GATES[queue], **{
        **app.worker_defaults,
        "queues": [queue], "name": queue, "concurrency": GATES[queue].default,
        "additional_context": {CONTEXT: context},
        # Ours stop every queue's worker; procrastinate's handlers would each replace the last.
        "install_signal_handlers": False,
        "shutdown_graceful_timeout": settings.jobs_shutdown_grace_seconds,
        "update_heartbeat_interval": settings.jobs_heartbeat_seconds,
        "stalled_worker_timeout": settings.jobs_stalled_after_seconds,
        "fetch_job_polling_interval": FETCH_POLL_SECONDS,
    })


def _database_lost(ended: list[asyncio.Task]) -> bool:
    """Whether the queue workers that ended did so because the database went away: their error
    says so, or they stopped cleanly, which procrastinate does when a connection of its side
    tasks (LISTEN, heartbeat) failed; with the database down it raises instead, from a query."""
    errors = [task.exception() for task in ended if not task.cancelled()]
    return all(error is None or database_unavailable(error) for error in errors)


async def _stop_at_end_of(stream: TextIO, stop: asyncio.Event) -> None:
    """Set `stop` when nothing more can be read from `stream` (its writer closed or died)."""

    class EndOfStream(asyncio.Protocol):
        def connection_lost(self, exc: Exception | None) -> None:
            stop.set()

    await asyncio.get_running_loop().connect_read_pipe(EndOfStream, stream)
