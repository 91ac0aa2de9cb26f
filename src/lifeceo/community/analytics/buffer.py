"""The process's buffer of tracked events, handed to the queue in batches: one track-events job
(hence one INSERT) per flush instead of one write per event on the request path.

What is lost, and when: events live here for at most a flush interval (1 s) before their job
row is committed; a process killed in that second loses them, a graceful stop flushes them
first. Nothing here was acknowledged as durable to anyone: the request that tracked an event
was about something else (a signup, a like), and that is committed by then. Once its job row
is committed, a batch is durable and written at least once, exactly once in effect (its events
are keyed by the batch id, which a failed flush keeps for its next attempt). While the database
refuses the flush, events accumulate up to a bound, past which new ones are dropped and counted.
"""

import asyncio
import uuid
from collections import deque
from collections.abc import Iterable
from weakref import WeakKeyDictionary

import structlog
from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from lifeceo.platform.queue import enqueue
from lifeceo.settings import Settings

log = structlog.get_logger(__name__)
TRACK_EVENTS_JOB = "track-events"


class EventBuffer:
    """One per process and engine: `EventBuffer.start` in the application's lifespan, found by
    the sessions of that engine through `buffer_for`."""

    def __init__(self, settings: Settings, engine: AsyncEngine,
                 sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._engine = engine.sync_engine
        self._interval_seconds = settings.analytics_flush_interval_seconds
        self._batch_events = settings.analytics_flush_events
        self._max_events = settings.analytics_buffer_max_events
        self._sessionmaker = sessionmaker
        self._events: deque[dict] = deque()
        # A batch whose enqueueing failed, retried first and under the same id: if its commit
        # did happen after all, the job then finds its events written and adds nothing.
        self._unsent: tuple[uuid.UUID, list[dict]] | None = None
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task | None = None
        self.dropped = 0
        self._dropping = False
        self._failing = False

    @property
    def pending(self) -> int:
        return len(self._events) + (len(self._unsent[1]) if self._unsent else 0)

    @classmethod
    def start(cls, settings: Settings, engine: AsyncEngine,
              sessionmaker: async_sessionmaker[AsyncSession]) -> "EventBuffer":
        """A buffer for the sessions of `engine`, flushed every interval in the running loop."""
        buffer = cls(settings, engine, sessionmaker)
        _buffers[buffer._engine] = buffer
        buffer._task = asyncio.get_running_loop().create_task(buffer._flush_periodically())
        return buffer

    async def close(self) -> None:
        """Take no more events, stop flushing periodically, then flush what is left."""
        _buffers.pop(self._engine, None)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self.flush()
        if self.pending:
            log.warning("analytics events lost at shutdown", events=self.pending)

    def add(self, events: Iterable[dict]) -> None:
        """Keep the events for the next flush, up to the bound."""
        for event in events:
            if self.pending >= self._max_events:
                self._drop()
                continue
            self._events.append(event)
        if self._dropping and self.pending < self._max_events:
            self._dropping = False
            log.warning("analytics events buffered again", dropped=self.dropped)
        if len(self._events) >= self._batch_events:
            self._wake.set()

    async def flush(self) -> int:
        """Enqueue every buffered event, a batch per job; returns how many were enqueued. Stops
        at the first failure, keeping the batch for the next attempt."""
        enqueued = 0
        async with self._lock:
            while self._unsent or self._events:
                if self._unsent is None:
                    count = min(len(self._events), self._batch_events)
                    self._unsent = (uuid.uuid4(), [self._events.popleft() for _ in range(count)])
                batch_id, events = self._unsent
                try:
                    async with self._sessionmaker() as session:
                        await enqueue(session, TRACK_EVENTS_JOB, batch_id=str(batch_id),
                                      events=events)
                        await session.commit()
                except Exception as exc:  # noqa: BLE001 - any failure: keep the batch, retry later
                    self._failed(exc)
                    return enqueued
                self._unsent = None
                enqueued += len(events)
            if self._failing:
                self._failing = False
                log.warning("analytics events enqueued again")
        return enqueued

    async def _flush_periodically(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self._interval_seconds):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            await self.flush()

    def _drop(self) -> None:
        self.dropped += 1
        if not self._dropping:
            self._dropping = True
            log.warning("analytics buffer full: dropping new events", max_events=self._max_events)

    def _failed(self, exc: Exception) -> None:
        if not self._failing:
            self._failing = True
            log.warning("analytics events not enqueued; retrying each flush",
                        error=str(exc) or type(exc).__name__, pending=self.pending)


# The buffer of each engine's sessions: domain code has a session, not the application.
_buffers: WeakKeyDictionary[Engine, EventBuffer] = WeakKeyDictionary()


def buffer_for(session: AsyncSession | Session) -> EventBuffer | None:
    """The buffer of the session's engine; None in a process that runs no API (a command), whose
    events are not kept."""
    return _buffers.get(session.get_bind())
