"""`lifeceo serve`: the embedded database if none is configured, migrations, then uvicorn's
supervisor (crash respawn, SIGHUP rolling restart of the web workers and the job worker,
SIGTERM/SIGINT graceful shutdown)."""

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog
from rich.console import Console

from lifeceo.platform.db.embedded import DataDirInUse, EmbeddedPostgres
from lifeceo.platform.observability.logging import configure_logging
from lifeceo.settings import Settings, get_settings

# Alembic, SQLAlchemy, the models and uvicorn are imported once the data directory is ours: a
# second `serve` on a data directory in use then refuses in a second instead of several.

log = structlog.get_logger(__name__)
# create_app configures each worker's logging from the settings it reads.
APP_FACTORY = "lifeceo.app:create_app"
SOURCE_DIR = Path(__file__).resolve().parent
# After its graceful period a worker shuts the application down: 25-40 ms measured, a few listener
# stops of at most 2 s each in the worst case (platform/pubsub/stopping.py). Then it is killed.
WORKER_EXIT_MARGIN_SECONDS = 10.0
# Enough to click around: a few pages of feed, a calendar with something every week.
DEMO_USERS, DEMO_POSTS, DEMO_EVENTS, DEMO_SEED = 50, 500, 30, 2024


class ServeError(RuntimeError):
    """`lifeceo serve` cannot start; the message says why."""


@dataclass(frozen=True)
class ServeOptions:
    workers: int
    host: str
    port: int
    reload: bool
    demo_data: bool


def serve(options: ServeOptions, console: Console) -> int:
    """Runs until SIGTERM or SIGINT; returns the process exit code."""
    settings = get_settings()
    configure_logging(log_format=settings.log_format, level=settings.log_level, env=settings.env)
    # Until uvicorn's supervisor installs its handlers, SIGTERM must unwind through the finally
    # blocks (stopping PostgreSQL) instead of killing the process where it stands.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    # The workers inherit it: the rate limiter divides the security quotas among them while Redis
    # is down, so it must know how many there are (`--workers` may differ from LIFECEO_WORKERS).
    os.environ["LIFECEO_WORKERS"] = str(1 if options.reload else options.workers)
    try:
        return _serve(settings, options, console)
    except KeyboardInterrupt:
        return 0


def _serve(settings: Settings, options: ServeOptions, console: Console) -> int:
    embedded = None
    if settings.database_url is None:
        embedded = EmbeddedPostgres(settings.data_dir)
        try:
            url = embedded.start()
        except DataDirInUse as exc:
            raise ServeError(str(exc)) from None
        # The spawned workers inherit the environment, so they find the same server.
        os.environ["LIFECEO_DATABASE_URL"] = url
        get_settings.cache_clear()
        settings = get_settings()
    try:
        from lifeceo.platform.db import migrations

        migrations.upgrade(settings.database_url)
        # Generated once here, not raced by the workers.
        settings.resolved_secret_key()
        if options.demo_data:
            _seed_demo_data(settings.database_url, console)
        from lifeceo.platform.observability.metrics_multiprocess import shared_directory
        from lifeceo.platform.queue.process import serve_worker

        # Metrics: every process started from here on (web workers, the job worker) writes to
        # one directory that a scrape of any worker sums. The job worker is stopped after the
        # web workers, before PostgreSQL.
        with shared_directory(enabled=settings.metrics_enabled), \
                serve_worker(settings) as job_worker:
            return _run_uvicorn(settings, options,
                                on_reload=job_worker.restart if job_worker else None)
    finally:
        if embedded is not None:
            embedded.stop()


def _raise_keyboard_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _seed_demo_data(database_url: str, console: Console) -> None:
    from sqlalchemy import create_engine as create_sync_engine
    from sqlalchemy import func, select

    from lifeceo.community.users.models import User
    from lifeceo.platform.db.engine import sqlalchemy_url
    from lifeceo.seed import DEMO_PASSWORD, seed_database

    engine = create_sync_engine(sqlalchemy_url(database_url))
    try:
        with engine.connect() as connection:
            has_users = connection.scalar(select(func.count()).select_from(User)) > 0
    finally:
        engine.dispose()
    if has_users:
        console.print("[dim]demo data: the database already has users, nothing added[/dim]")
        return
    summary = seed_database(database_url, users=DEMO_USERS, posts=DEMO_POSTS, events=DEMO_EVENTS,
                            seed=DEMO_SEED)
    console.print(f"[green]demo data added[/green]: {summary.users} users, {summary.posts} posts, "
                  f"{summary.events} events. Log in as [bold]{summary.first_username}[/bold] "
                  f"with the password [bold]{DEMO_PASSWORD}[/bold]", soft_wrap=True)


def _run_uvicorn(settings: Settings, options: ServeOptions,
                 on_reload: Callable[[], None] | None) -> int:
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import ChangeReload

    from lifeceo.platform.http.keepalive import GracefulHttpProtocol
    from lifeceo.supervisor import Supervisor

    config = uvicorn.Config(
        APP_FACTORY, factory=True, host=options.host, port=options.port,
        workers=1 if options.reload else options.workers, reload=options.reload,
        reload_dirs=[str(SOURCE_DIR)] if options.reload else None,
        timeout_graceful_shutdown=settings.graceful_shutdown_seconds,
        timeout_worker_healthcheck=settings.worker_healthcheck_timeout_seconds,
        log_config=None, access_log=False, http=GracefulHttpProtocol,
        # Behind Varnish or a load balancer on the allowed addresses, X-Forwarded-For/-Proto give
        # the client's address and scheme.
        proxy_headers=True, forwarded_allow_ips=settings.forwarded_allow_ips,
    )
    socket = config.bind_socket()
    if options.reload:
        ChangeReload(config, target=uvicorn.Server(config).run, sockets=[socket]).run()
        return 0
    # The supervisor even for one worker: a worker that dies or hangs is always replaced.
    # A worker it replaces is marked dead in the metrics directory.
    supervisor = Supervisor(
        config, sockets=[socket], ready_timeout_seconds=settings.worker_ready_timeout_seconds,
        exit_timeout_seconds=settings.graceful_shutdown_seconds + WORKER_EXIT_MARGIN_SECONDS,
        on_reload=on_reload)
    supervisor.run()
    if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
        log.error("a worker failed to start; see its error above")
        return STARTUP_FAILURE
    return 0

