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
from lifeceo.platform.db.engine import create_engine, create_sessionmaker
from lifeceo.platform.observability.errors import configure_error_reporting
from lifeceo.platform.observability.metrics_process import start_process_metrics
from lifeceo.platform.observability.tracing import configure_tracing, instrument_engine
from lifeceo.platform.queue.context import JobContext, bind
from lifeceo.platform.queue.procrastinate_app import CONTEXT, build_app
from lifeceo.platform.queue.queues import QUEUES, QueueConfigError
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
    # The worker's own cache, built as the web processes build theirs.
    cache = Cache.from_settings(settings, engine=engine)
    await cache.start()
    # Its pool, cache, event-loop lag and memory in /api/metrics, beside the web workers'.
    process_metrics = start_process_metrics(settings, engine=engine, cache=cache)
    context = JobContext(settings=settings, sessionmaker=create_sessionmaker(engine),
                         cache=cache, engine=engine)
    bind(context)
    loop = asyncio.get_running_loop()
    on_signals = stop is None
    stop = stop or asyncio.Event()
    if on_signals:
        for signum in STOP_SIGNALS:
            loop.add_signal_handler(signum, stop.set)
    try:
        if stop_on_stdin_eof:
            await _stop_at_end_of(sys.stdin, stop)
        async with app.open_async():
            return await _work(app, context, queues, concurrency, stop)
    finally:
        if on_signals:
            for signum in STOP_SIGNALS:
                loop.remove_signal_handler(signum)
        if process_metrics is not None:
            await process_metrics.close()
        await cache.close()
        await engine.dispose()


async def _work(app: procrastinate.App, context: JobContext, queues: list[str],
                concurrency: int | None, stop: asyncio.Event) -> int:
    settings = context.settings
    workers = [asyncio.create_task(app.run_worker_async(
        queues=[queue], name=queue,
        concurrency=concurrency or settings.jobs_concurrency[queue],
        additional_context={CONTEXT: context},
        # Ours stop every queue's worker; procrastinate's handlers would each replace the last.
        install_signal_handlers=False,
        shutdown_graceful_timeout=settings.jobs_shutdown_grace_seconds,
        update_heartbeat_interval=settings.jobs_heartbeat_seconds,
        stalled_worker_timeout=settings.jobs_stalled_after_seconds,
        fetch_job_polling_interval=FETCH_POLL_SECONDS,
    ), name=f"worker {queue}") for queue in queues]
    watcher = asyncio.create_task(watch_stalled_jobs(context), name="stalled jobs")
    log.info("job worker started", queues=queues, concurrency=concurrency or "per queue")
    stopping = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopping, *workers], return_when=asyncio.FIRST_COMPLETED)
    # A queue's worker ends by itself only when it failed (the database went away): stop the
    # others and exit non-zero, so that the supervisor starts a fresh process.
    failed = stopping not in done
    if failed:
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
    return 1 if failed else 0


async def _stop_at_end_of(stream: TextIO, stop: asyncio.Event) -> None:
    """Set `stop` when nothing more can be read from `stream` (its writer closed or died)."""

    class EndOfStream(asyncio.Protocol):
        def connection_lost(self, exc: Exception | None) -> None:
            stop.set()

    await asyncio.get_running_loop().connect_read_pipe(EndOfStream, stream)
