"""A job worker waits out a database outage: it probes PostgreSQL until it answers again."""

import asyncio
import time

import psycopg
import structlog

from lifeceo.platform.db.errors import database_unavailable
from lifeceo.settings import Settings

log = structlog.get_logger(__name__)
# What a worker's run returns when it ended because the database went away.
DATABASE_LOST = object()


async def database_answers(settings: Settings) -> bool:
    """Whether the job queues' database (the one procrastinate talks to) answers a query now."""
    conninfo = settings.database_listen_url or settings.database_url
    try:
        connection = await psycopg.AsyncConnection.connect(
            conninfo, autocommit=True, prepare_threshold=None,
            connect_timeout=max(1, round(settings.jobs_reconnect_seconds)))
        async with connection:
            await connection.execute("SELECT 1")
    except psycopg.Error as exc:
        if not database_unavailable(exc):
            raise
        return False
    return True


async def wait_for_database(settings: Settings, stop: asyncio.Event) -> bool:
    """Until the database answers (True) or `stop` is set (False), probing at an interval."""
    started = time.monotonic()
    while not stop.is_set():
        if await database_answers(settings):
            log.info("database reachable again; the job worker resumes",
                     waited_seconds=round(time.monotonic() - started, 1))
            return True
        try:
            await asyncio.wait_for(stop.wait(), timeout=settings.jobs_reconnect_seconds)
        except TimeoutError:
            pass
    return False
