"""LISTEN on one PostgreSQL channel over a connection of its own that reconnects by itself.

Shared by the cache's invalidation bus and the live hub. LISTEN is a session-level command, so
the connection must reach PostgreSQL directly: through PgBouncer in transaction mode the server
connection changes under it and notifications go nowhere (LIFECEO_DATABASE_LISTEN_URL)."""

import asyncio
from collections.abc import Awaitable, Callable

import psycopg
import structlog
from sqlalchemy import text
from sqlalchemy.engine import make_url

from lifeceo.platform.db.engine import sqlalchemy_url
from lifeceo.platform.pubsub.stopping import cancel_and_wait

# PostgreSQL rejects NOTIFY payloads of 8000 bytes or more.
MAX_NOTIFY_BYTES = 7_999
NOTIFY = text("SELECT pg_notify(:channel, :payload)")
RECONNECT_FIRST_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 5.0
log = structlog.get_logger(__name__)

MessageHandler = Callable[[bytes], Awaitable[None]]
GapHandler = Callable[[], Awaitable[None]]


def libpq_conninfo(database_url: str) -> str:
    """A libpq URI for psycopg, keeping query parameters such as ?host=/socket/dir."""
    return make_url(sqlalchemy_url(database_url)).set(drivername="postgresql").render_as_string(
        hide_password=False)


class PostgresListener:
    """Calls `on_message` with each payload sent to `channel`, and `on_gap` after a reconnect
    (what was sent meanwhile is lost for good). `application_name` names the connection in
    pg_stat_activity; `purpose` names it in log lines."""

    def __init__(self, *, database_url: str, channel: str, application_name: str, purpose: str,
                 on_message: MessageHandler, on_gap: GapHandler) -> None:
        self._conninfo = libpq_conninfo(database_url)
        self._channel = channel
        self._application_name = application_name
        self._purpose = purpose
        self._on_message = on_message
        self._on_gap = on_gap
        self._task: asyncio.Task | None = None
        self.listening = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._listen())

    async def _listen(self) -> None:
        delay = RECONNECT_FIRST_SECONDS
        listened_before = down_logged = False
        while True:
            try:
                connection = await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True, connect_timeout=5,
                    application_name=self._application_name)
                async with connection:
                    await connection.execute(f"LISTEN {self._channel}")
                    if listened_before:
                        log.info(f"{self._purpose} listener reconnected to postgres")
                        await self._on_gap()
                    listened_before, down_logged = True, False
                    delay = RECONNECT_FIRST_SECONDS
                    self.listening.set()
                    async for notify in connection.notifies():
                        await self._on_message(notify.payload.encode())
            except (psycopg.Error, OSError) as exc:
                if not down_logged:
                    log.warning(f"{self._purpose} listener lost postgres",
                                error=f"{type(exc).__name__}: {exc}")
                    down_logged = True
            self.listening.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    async def stop(self) -> None:
        await cancel_and_wait(self._task, purpose=self._purpose)
