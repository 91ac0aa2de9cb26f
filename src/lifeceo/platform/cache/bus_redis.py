"""The invalidation bus over Redis pub/sub, on a connection of its own that reconnects by itself."""

from lifeceo.platform.cache.redis_tier import CHANNEL
from lifeceo.platform.pubsub.postgres import GapHandler, MessageHandler
from lifeceo.platform.pubsub.redis import RedisListener


class RedisSubscriber(RedisListener):
    def __init__(self, url: str, *, on_message: MessageHandler, on_gap: GapHandler,
                 reconnect_max_seconds: float) -> None:
        super().__init__(url, channel=CHANNEL, client_name="lifeceo-cache-bus",
                         purpose="cache invalidation", on_message=on_message, on_gap=on_gap,
                         reconnect_max_seconds=reconnect_max_seconds)
