"""Publish/subscribe across processes: the LISTEN and Redis listeners the cache's invalidation
bus is built on, and the live hub that pushes messages to connected clients."""

from lifeceo.platform.pubsub.dependency import AppHub
from lifeceo.platform.pubsub.health import live_check
from lifeceo.platform.pubsub.hub import LiveHub, publish
from lifeceo.platform.pubsub.subscription import Delivery, LiveMessage, Subscription

__all__ = ["AppHub", "Delivery", "LiveHub", "LiveMessage", "Subscription", "live_check", "publish"]
