"""The invalidation bus over PostgreSQL LISTEN/NOTIFY: always on, so that invalidations reach
every process with no Redis (the embedded default) and while Redis is down."""

import asyncio
from collections.abc import Awaitable, Callable

import psycopg
import structlog
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from lifeceo.platform.db.engine import sqlalchemy_url

NOTIFY_CHANNEL = "lifeceo_cache"
# Names the listener in pg_stat_activity (operators; tests terminate it to simulate a restart).
APPLICATION_NAME = "lifeceo-cache-listener"
NOTIFY = text("SELECT pg_notify(:channel, :payload)")
RECONNECT_FIRST_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 5.0
log = structlog.get_logger(__name__)

Handler = Callable[[bytes], Awaitable[None]]


def libpq_conninfo(database_url: str) -> str:
    """A libpq URI for psycopg, keeping query parameters such as ?host=/socket/dir."""
    return make_url(sqlalchemy_url(database_url)).set(drivername="postgresql").render_as_string(
        hide_password=False)


class PostgresBus:
    def __init__(self, *, database_url: str, engine: AsyncEngine, on_message: Handler,
                 on_gap: Callable[[], Awaitable[None]]) -> None:
        self._conninfo = libpq_conninfo(database_url)
        self._engine = engine
        self._on_message = on_message
        self._on_gap = on_gap
        self._task: asyncio.Task | None = None
        self.listening = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._listen())

    async def publish(self, payloads: list[bytes]) -> None:
        """In a short transaction of its own: delivered at once. Sent inside a request's
        transaction instead (`publish_in`), PostgreSQL delivers it when that commits."""
        async with self._engine.begin() as connection:
            for payload in payloads:
                await connection.execute(NOTIFY, {"channel": NOTIFY_CHANNEL,
                                                  "payload": payload.decode()})

    @staticmethod
    async def publish_in(session: AsyncSession, payloads: list[bytes]) -> None:
        for payload in payloads:
            await session.execute(NOTIFY, {"channel": NOTIFY_CHANNEL, "payload": payload.decode()})

    async def _listen(self) -> None:
        delay = RECONNECT_FIRST_SECONDS
        listened_before = down_logged = False
        while True:
            try:
                connection = await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True, connect_timeout=5,
                    application_name=APPLICATION_NAME)
                async with connection:
                    await connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    if listened_before:
                        log.info("cache invalidation listener reconnected to postgres")
                        # Notifications sent while we were away are lost for good.
                        await self._on_gap()
                    listened_before, down_logged = True, False
                    delay = RECONNECT_FIRST_SECONDS
                    self.listening.set()
                    async for notify in connection.notifies():
                        await self._on_message(notify.payload.encode())
            except (psycopg.Error, OSError) as exc:
                if not down_logged:
                    log.warning("cache invalidation listener lost postgres",
                                error=f"{type(exc).__name__}: {exc}")
                    down_logged = True
            self.listening.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
