"""Live messages for the clients connected to any process. Each process runs one listener
(Redis pub/sub when Redis is configured, else PostgreSQL LISTEN; both with Redis when the
websocket-scaling flag may move publishing between them) and fans what it hears out to its own
subscribers of the message's topic: one connection per process, not per client."""

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import structlog
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from lifeceo.platform.pubsub.exit_signal import ExitSignal
from lifeceo.platform.pubsub.postgres import MAX_NOTIFY_BYTES, NOTIFY, PostgresListener
from lifeceo.platform.pubsub.redis import RedisListener
from lifeceo.platform.pubsub.subscription import BUFFER_MESSAGES, LiveMessage, Subscription
from lifeceo.settings import Settings

POSTGRES_CHANNEL = "lifeceo_live"
REDIS_CHANNEL = "lifeceo:live"
# Names the listener in pg_stat_activity and CLIENT LIST.
LISTENER_NAME = "lifeceo-live-listener"
# start() waits this long for the listener, then carries on (it keeps trying).
READY_SECONDS = 2.0
# Publishing is one round trip on a LAN; a Redis that takes longer is as good as down.
REDIS_TIMEOUT_SECONDS = 1.0
REDIS_RECONNECT_MAX_SECONDS = 5.0
log = structlog.get_logger(__name__)
# Hubs started in this process, so that code without one at hand (a job) can publish through it.
_started: list["LiveHub"] = []


class LiveHub:
    def __init__(self, *, engine: AsyncEngine, database_url: str | None = None,
                 redis_url: str | None = None,
                 prefer_redis: Callable[[], bool] | None = None) -> None:
        """Publishes over Redis when `redis_url` is given, else with NOTIFY through `engine`;
        `database_url` is where the PostgreSQL listener connects (not through PgBouncer).
        With Redis and `prefer_redis` (the websocket-scaling flag, asked per message), the hub
        listens on both and publishes over NOTIFY while it says no."""
        self._engine = engine
        self._prefer_redis = prefer_redis
        self._database_url = database_url
        self._redis_url = redis_url
        self._redis = (Redis.from_url(redis_url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                      socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
                       if redis_url else None)
        self._listeners: list[PostgresListener | RedisListener] = []
        self._topics: dict[str, set[Subscription]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._exit_signal = ExitSignal(self.end_streams)

    @classmethod
    def from_settings(cls, settings: Settings, *, engine: AsyncEngine,
                      prefer_redis: Callable[[], bool] | None = None) -> "LiveHub":
        if settings.database_pgbouncer and not settings.database_listen_url:
            log.warning("LISTEN goes through PgBouncer and hears nothing in transaction mode "
                        "(cache invalidation, and live notifications without Redis): set "
                        "LIFECEO_DATABASE_LISTEN_URL to PostgreSQL itself")
        return cls(engine=engine, database_url=settings.database_listen_url or settings.database_url,
                   redis_url=settings.redis_url, prefer_redis=prefer_redis)

    @property
    def backend(self) -> str:
        """The transport messages are published over now."""
        if self._redis is not None and (self._prefer_redis is None or self._prefer_redis()):
            return "redis"
        return "postgres"

    @property
    def listening(self) -> bool:
        return bool(self._listeners) and all(
            listener.listening.is_set() for listener in self._listeners)

    @property
    def subscribers(self) -> int:
        return sum(len(subscriptions) for subscriptions in self._topics.values())

    async def start(self) -> None:
        """Start listening (never fails: a listener that cannot connect keeps retrying)."""
        if self._redis_url:
            self._listeners.append(RedisListener(
                self._redis_url, channel=REDIS_CHANNEL, client_name=LISTENER_NAME, purpose="live",
                on_message=self._on_message, on_gap=self._on_gap,
                reconnect_max_seconds=REDIS_RECONNECT_MAX_SECONDS))
        # Both when a switch may move publishing between them: each message travels once, over
        # one of them, and every process hears it whichever that is.
        if self._database_url and (not self._redis_url or self._prefer_redis is not None):
            self._listeners.append(PostgresListener(
                database_url=self._database_url, channel=POSTGRES_CHANNEL,
                application_name=LISTENER_NAME, purpose="live", on_message=self._on_message,
                on_gap=self._on_gap))
        if not self._listeners:
            raise ValueError("a live hub listens on Redis or PostgreSQL; neither is configured")
        self._loop = asyncio.get_running_loop()
        for listener in self._listeners:
            listener.start()
        self._exit_signal.install()
        _started.append(self)
        try:
            async with asyncio.timeout(READY_SECONDS):
                for listener in self._listeners:
                    await listener.listening.wait()
        except TimeoutError:
            log.warning("live listener not ready yet; it keeps retrying", backend=self.backend)

    def end_streams(self) -> None:
        """End every subscription open now (their streams finish; clients reconnect)."""
        for subscriptions in self._topics.values():
            for subscription in subscriptions:
                subscription.close()
        self._topics.clear()

    async def close(self) -> None:
        """Stop listening and end every subscription."""
        if self in _started:
            _started.remove(self)
        self._exit_signal.remove()
        self.end_streams()
        for listener in self._listeners:
            await listener.stop()
        if self._redis is not None:
            await self._redis.aclose()

    @contextmanager
    def subscribe(self, topic: str, *, buffer_messages: int = BUFFER_MESSAGES
                  ) -> Iterator[Subscription]:
        """This process's share of `topic`, for as long as the block runs; `buffer_messages`
        for a subscriber that expects bursts (many processes' answers at once)."""
        subscription = Subscription(topic, buffer_messages=buffer_messages)
        self._topics.setdefault(topic, set()).add(subscription)
        try:
            yield subscription
        finally:
            subscription.close()
            remaining = self._topics.get(topic)
            if remaining is not None:
                remaining.discard(subscription)
                if not remaining:
                    del self._topics[topic]

    async def publish(self, message: LiveMessage) -> None:
        """To the subscribers of the topic in every process; raises when the transport fails."""
        payload = message.encode()
        # PostgreSQL's NOTIFY limit, kept for Redis too so that both carry the same messages.
        if len(payload) > MAX_NOTIFY_BYTES:
            raise ValueError(f"live message of {len(payload)} bytes; at most {MAX_NOTIFY_BYTES}")
        if self.backend == "redis":
            await self._redis.publish(REDIS_CHANNEL, payload)
            return
        async with self._engine.begin() as connection:
            await connection.execute(NOTIFY, {"channel": POSTGRES_CHANNEL,
                                              "payload": payload.decode()})

    async def _on_message(self, payload: bytes) -> None:
        try:
            message = LiveMessage.decode(payload)
        except (ValueError, KeyError, TypeError):
            log.warning("malformed live message ignored", payload=payload[:200])
            return
        for subscription in self._topics.get(message.topic, ()):
            subscription.deliver(message)

    async def _on_gap(self) -> None:
        for subscriptions in self._topics.values():
            for subscription in subscriptions:
                subscription.lost_messages()


async def publish(message: LiveMessage, *, settings: Settings, engine: AsyncEngine) -> None:
    """Publish from code that has no hub at hand (a job): through the hub running on this event
    loop if there is one, else over a connection opened for this message."""
    loop = asyncio.get_running_loop()
    for hub in _started:
        if hub._loop is loop:
            await hub.publish(message)
            return
    one_off = LiveHub(engine=engine, redis_url=settings.redis_url)
    try:
        await one_off.publish(message)
    finally:
        await one_off.close()
