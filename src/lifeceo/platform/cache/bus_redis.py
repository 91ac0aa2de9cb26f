"""The invalidation bus over Redis pub/sub, on a connection of its own that reconnects by itself."""

import asyncio
from collections.abc import Awaitable, Callable

import structlog
from redis.asyncio import Redis

from lifeceo.platform.cache.redis_tier import CHANNEL, REDIS_FAILURES

RECONNECT_FIRST_SECONDS = 0.25
log = structlog.get_logger(__name__)


class RedisSubscriber:
    def __init__(self, url: str, *, on_message: Callable[[bytes], Awaitable[None]],
                 on_gap: Callable[[], Awaitable[None]], reconnect_max_seconds: float) -> None:
        # Waiting for a message is not a timeout; the health check PING (every 5 s) is what
        # notices a connection that died silently.
        self._client = Redis.from_url(url, socket_connect_timeout=1.0, health_check_interval=5,
                                      client_name="lifeceo-cache-bus")
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
                    await pubsub.subscribe(CHANNEL)
                    if subscribed_before:
                        log.info("cache invalidation subscriber reconnected to redis")
                        # Messages published while we were away are lost for good.
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
                    log.warning("cache invalidation subscriber lost redis",
                                error=f"{type(exc).__name__}: {exc}")
                    down_logged = True
            self.listening.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._reconnect_max)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._client.aclose()
