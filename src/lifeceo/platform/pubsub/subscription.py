"""One local subscriber's view of a topic: the messages that arrived, and whether any were lost."""

import asyncio
from collections import deque
from dataclasses import dataclass

import orjson

# Messages a subscriber may have waiting; a slower one is told it missed some and catches up
# from the source of truth, so a stuck client cannot grow this process's memory.
BUFFER_MESSAGES = 100


@dataclass(frozen=True, slots=True)
class LiveMessage:
    """`id` increases along a topic, so a subscriber that catches up knows what it has seen."""

    topic: str
    id: int
    data: dict

    def encode(self) -> bytes:
        return orjson.dumps({"t": self.topic, "i": self.id, "d": self.data})

    @classmethod
    def decode(cls, payload: bytes | str) -> "LiveMessage":
        body = orjson.loads(payload)
        if not (isinstance(body["t"], str) and isinstance(body["i"], int)
                and isinstance(body["d"], dict)):
            raise TypeError("malformed live message")
        return cls(topic=body["t"], id=body["i"], data=body["d"])


@dataclass(frozen=True, slots=True)
class Delivery:
    messages: list[LiveMessage]
    # Some messages never arrived (the listener reconnected, or the buffer was full).
    missed: bool


class Subscription:
    def __init__(self, topic: str, *, buffer_messages: int = BUFFER_MESSAGES) -> None:
        self.topic = topic
        self._pending: deque[LiveMessage] = deque()
        self._buffer = buffer_messages
        self._missed = False
        self._ready = asyncio.Event()
        self.closed = False

    async def receive(self, *, timeout_seconds: float) -> Delivery | None:
        """What arrived since the last call, waiting up to `timeout_seconds` for something; None
        if nothing did or the subscription is closed."""
        if not self._ready.is_set() and not self.closed:
            try:
                async with asyncio.timeout(timeout_seconds):
                    await self._ready.wait()
            except TimeoutError:
                return None
        if self.closed:
            return None
        delivery = Delivery(list(self._pending), self._missed)
        self._pending.clear()
        self._missed = False
        self._ready.clear()
        return delivery

    def deliver(self, message: LiveMessage) -> None:
        if len(self._pending) >= self._buffer:
            self._pending.clear()
            self._missed = True
        else:
            self._pending.append(message)
        self._ready.set()

    def lost_messages(self) -> None:
        self._missed = True
        self._ready.set()

    def close(self) -> None:
        self.closed = True
        self._ready.set()
