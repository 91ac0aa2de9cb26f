"""The invalidation bus over PostgreSQL LISTEN/NOTIFY: always on, so that invalidations reach
every process with no Redis (the embedded default) and while Redis is down."""

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from lifeceo.platform.pubsub.postgres import NOTIFY, GapHandler, MessageHandler, PostgresListener

NOTIFY_CHANNEL = "lifeceo_cache"
# Names the listener in pg_stat_activity (operators; tests terminate it to simulate a restart).
APPLICATION_NAME = "lifeceo-cache-listener"


class PostgresBus(PostgresListener):
    def __init__(self, *, database_url: str, engine: AsyncEngine, on_message: MessageHandler,
                 on_gap: GapHandler) -> None:
        super().__init__(database_url=database_url, channel=NOTIFY_CHANNEL,
                         application_name=APPLICATION_NAME, purpose="cache invalidation",
                         on_message=on_message, on_gap=on_gap)
        self._engine = engine

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
