"""A leader lock with a lease, shared by the metrics history and the monitor: a session advisory
lock on a connection of its own, whose session PostgreSQL ends after a few pings missed
(idle_session_timeout), so that a hung leader or a vanished node loses it within the lease
instead of the hours TCP takes to notice, and a closed connection loses it at once."""

import asyncio
import math

import psycopg
import structlog

from lifeceo.platform.pubsub.postgres import libpq_conninfo
from lifeceo.settings import Settings

log = structlog.get_logger(__name__)


def lock_url(settings: Settings) -> str:
    """A libpq URL to PostgreSQL itself: a session lock cannot live behind PgBouncer in
    transaction mode, which is what the LISTEN URL is for."""
    return libpq_conninfo(settings.database_listen_url or settings.database_url)


class Lease:
    """`name` names the lock in log lines, `application_name` its connection in
    pg_stat_activity; the holder must ping (`hold`) every `ping_seconds`, and loses the lock
    after `lease_pings` missed."""

    def __init__(self, settings: Settings, *, lock_id: int, name: str, application_name: str,
                 ping_seconds: float, lease_pings: int) -> None:
        self.lock_id = lock_id
        self.name = name
        self._application_name = application_name
        self._url = lock_url(settings)
        self._timeout_seconds = ping_seconds
        behind_pgbouncer = settings.database_pgbouncer and not settings.database_listen_url
        if behind_pgbouncer:
            log.warning(f"{name} leader lock behind PgBouncer: set LIFECEO_DATABASE_LISTEN_URL "
                        "to PostgreSQL itself")
        # PgBouncer refuses startup options; PostgreSQL ends a session idle this long.
        self._options = None if behind_pgbouncer else (
            f"-c idle_session_timeout={math.ceil(lease_pings * ping_seconds * 1000)}")
        self.conn: psycopg.AsyncConnection | None = None
        self.held = False

    async def hold(self) -> bool:
        """Whether this process holds the lock, checked (and the lease renewed) on the live
        connection; a broken one, which took the lock with it, is replaced and tried again."""
        for attempt in range(2):
            try:
                # A partitioned network would hang the call until TCP gives up: hours.
                async with asyncio.timeout(self._timeout_seconds):
                    held = await self._try()
                break
            except Exception as exc:  # noqa: BLE001 - the session is gone, and its lock with it
                if self.held:
                    log.warning(f"{self.name} leadership lost",
                                error=str(exc) or type(exc).__name__)
                await self._drop()
                if attempt:
                    return False
        self.held = held
        return held

    async def release(self) -> None:
        """Give the lock up and close its connection."""
        if self.held and self.conn is not None:
            try:
                # Now: the session ends a moment after the close, and another process must not
                # find the lock still held at its next try.
                await self.conn.execute("SELECT pg_advisory_unlock(%s)", (self.lock_id,))
            except Exception:  # noqa: BLE001, S110 - a broken session holds nothing any more
                pass
        await self._drop()

    async def _try(self) -> bool:
        if self.conn is None or self.conn.closed:
            self.conn = await psycopg.AsyncConnection.connect(
                self._url, autocommit=True, application_name=self._application_name,
                **({"options": self._options} if self._options else {}))
        # The holder pings (which keeps its session alive); the others try for the lock.
        cursor = await self.conn.execute(
            "SELECT CASE WHEN %(held)s THEN true ELSE pg_try_advisory_lock(%(id)s) END",
            {"held": self.held, "id": self.lock_id})
        return bool((await cursor.fetchone())[0])

    async def _drop(self) -> None:
        conn, self.conn, self.held = self.conn, None, False
        if conn is not None:
            try:
                await conn.close()
            except Exception:  # noqa: BLE001, S110 - already broken
                pass
