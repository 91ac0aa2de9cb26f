"""A user's notifications as Server-Sent Events: what they missed since Last-Event-ID, then
each change as it happens, pushed by the notify job through the live hub of every process.

Event ids are stream ids, drawn afresh whenever a notification changes (a like joining it), so
resuming from one also brings the notifications updated in place meanwhile."""

import asyncio
from collections.abc import AsyncIterator

import orjson
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lifeceo.community.notifications.service import NotificationChange, notification_service
from lifeceo.platform.pubsub import LiveHub, LiveMessage

# A client away long enough to have missed more gets the latest this many and reloads the list
# for the rest.
REPLAY_MAX = 100
# How long a disconnected EventSource waits before reconnecting (its default is about 3 s too).
RETRY_MS = 3000
HEARTBEAT = b": heartbeat\n\n"


def topic(recipient_id: int) -> str:
    return f"notifications:{recipient_id}"


def live_message(recipient_id: int, change: NotificationChange) -> LiveMessage:
    return LiveMessage(topic(recipient_id), change.stream_id,
                       change.notification.model_dump(mode="json"))


def _event(stream_id: int, data: dict) -> bytes:
    # orjson never writes a raw newline, so the data is one `data:` line.
    return b"id: %d\nevent: notification\ndata: %s\n\n" % (stream_id, orjson.dumps(data))


async def event_stream(*, hub: LiveHub, sessionmaker: async_sessionmaker[AsyncSession],
                       recipient_id: int, last_event_id: int | None, heartbeat_seconds: float,
                       max_seconds: float) -> AsyncIterator[bytes]:
    """The stream's bytes until `max_seconds` pass or the hub closes; a client that goes away
    ends it where it waits (the subscription is dropped in any case). Database sessions are
    opened only to catch up, never held while waiting."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_seconds
    # Subscribed before reading what was missed, so nothing falls between the two; and both
    # before the `retry:` line, so whatever happens once a client has read it reaches it.
    with hub.subscribe(topic(recipient_id)) as subscription:
        if last_event_id is None:
            async with sessionmaker() as session:
                start = await notification_service.latest_stream_id(session=session,
                                                                    recipient_id=recipient_id)
            missed = []
        else:
            start = last_event_id
            missed = await _changes_since(sessionmaker, recipient_id, start)
        yield b"retry: %d\n\n" % RETRY_MS
        # What the client has: everything up to `start`, and per notification the stream id
        # last sent. Pushes may arrive out of order (jobs in several processes publish after
        # their commits), so a stale one is told by its notification, not by the latest id.
        last = start
        sent: dict[int, int] = {}
        while True:
            for change in missed:
                sent[change.notification.id] = change.stream_id
                last = max(last, change.stream_id)
                yield _event(change.stream_id, change.notification.model_dump(mode="json"))
            missed = []
            remaining = deadline - loop.time()
            if remaining <= 0 or subscription.closed:
                return
            delivery = await subscription.receive(
                timeout_seconds=min(heartbeat_seconds, remaining))
            if delivery is None:
                if not subscription.closed and loop.time() < deadline:
                    yield HEARTBEAT
                continue
            if delivery.missed:
                # The listener reconnected or this client fell behind: read what it lost.
                missed = await _changes_since(sessionmaker, recipient_id, last)
                continue
            for message in delivery.messages:
                notification_id = message.data["id"]
                if message.id <= max(start, sent.get(notification_id, 0)):
                    continue
                sent[notification_id] = message.id
                last = max(last, message.id)
                yield _event(message.id, message.data)


async def _changes_since(sessionmaker: async_sessionmaker[AsyncSession], recipient_id: int,
                         stream_id: int) -> list[NotificationChange]:
    async with sessionmaker() as session:
        return await notification_service.changed_since(
            session=session, recipient_id=recipient_id, stream_id=stream_id, limit=REPLAY_MAX)
