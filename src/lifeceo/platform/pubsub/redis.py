"""Subscribe to one Redis pub/sub channel on a connection of its own that reconnects by itself.

Shared by the cache's invalidation bus and the live hub."""

import asyncio

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from lifeceo.platform.pubsub.postgres import GapHandler, MessageHandler
from lifeceo.platform.pubsub.stopping import cancel_and_wait

# What a Redis call may raise.
REDIS_FAILURES = (RedisError, OSError, TimeoutError)
RECONNECT_FIRST_SECONDS = 0.25
log = structlog.get_logger(__name__)


class RedisListener:
    """Calls `on_message` with each message published to `channel`, and `on_gap` after a
    reconnect (what was published meanwhile is lost for good)."""

    def __init__(self, url: str, *, channel: str, client_name: str, purpose: str,
                 on_message: MessageHandler, on_gap: GapHandler,
                 reconnect_max_seconds: float) -> None:
        # Waiting for a message is not a timeout; the health check PING (every 5 s) is what
        # notices a connection that died silently.
        self._client = Redis.from_url(url, socket_connect_timeout=1.0, health_check_interval=5,
                                      client_name=client_name)
        self._channel = channel
        self._purpose = purpose
        self._on_message = on_message
        self._on_gap = on_gap
        self._reconnect_max = reconnect_max_seconds
        self._task: asyncio.Task | None = None
        self.listening = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._listen())

    async def _listen(self) -> None:
        delay = RECONNECT_FIRST_SECONDS
        subscribed_before = down_logged = False
        while True:
            try:
                async with self._client.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    if subscribed_before:
                        log.info(f"{self._purpose} subscriber reconnected to redis")
                        await self._on_gap()
                    subscribed_before, down_logged = True, False
                    delay = RECONNECT_FIRST_SECONDS
                    self.listening.set()
                    while True:
                        message = await pubsub.get_message(ignore_subscribe_messages=True,
                                                           timeout=5.0)
                        if message is not None:
                            await self._on_message(message["data"])
            except REDIS_FAILURES as exc:
                if not down_logged:
                    log.warning(f"{self._purpose} subscriber lost redis",
                                error=f"{type(exc).__name__}: {exc}")
                    down_logged = True
            self.listening.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._reconnect_max)

    async def stop(self) -> None:
        await cancel_and_wait(self._task, purpose=self._purpose)
        await self._client.aclose()
