"""How many jobs of a queue run at once in this worker process, changeable at runtime (the queue
lever). procrastinate fetches a job only once its worker's semaphore grants a slot, and that
semaphore's size is fixed when the worker starts; a GatedWorker's semaphore is the queue's gate,
so a lowered concurrency fetches fewer jobs (the others stay in the database, free for other
nodes) and a raised one fetches more, up to the configured bound."""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import procrastinate.worker

# A lowered limit that expires frees slots nobody announces; waiters look again this often.
RECHECK_SECONDS = 1.0


class QueueGate:
    def __init__(self, concurrency: int) -> None:
        self.default = concurrency
        self.running = 0
        self.waiting = 0
        self._override: tuple[int, float] | None = None
        self._changed = asyncio.Condition()
        self._wake: asyncio.Task | None = None

    @property
    def limit(self) -> int:
        if self._override is not None and time.time() >= self._override[1]:
            self._override = None
        return self.default if self._override is None else self._override[0]

    def resize(self, concurrency: int | None, *, until: float = 0.0) -> None:
        """`concurrency` slots until `until` (time.time()); None: back to the default."""
        self._override = None if concurrency is None else (concurrency, until)
        self._wake = asyncio.get_running_loop().create_task(self._wake_waiters())

    async def _wake_waiters(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def acquire(self) -> bool:
        """A slot, once fewer than the current limit are taken (asyncio.Semaphore's interface)."""
        async with self._changed:
            self.waiting += 1
            try:
                while self.running >= self.limit:
                    try:
                        await asyncio.wait_for(self._changed.wait(), RECHECK_SECONDS)
                    except TimeoutError:
                        pass
            finally:
                self.waiting -= 1
            self.running += 1
        return True

    def release(self) -> None:
        # Called from procrastinate's done callbacks, outside any coroutine: no lock to take.
        self.running -= 1
        self._wake = asyncio.get_running_loop().create_task(self._wake_waiters())

    @asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        await self.acquire()
        try:
            yield
        finally:
            self.release()


# The gates of this process's queue workers (none in a web process).
GATES: dict[str, QueueGate] = {}


class GatedWorker(procrastinate.worker.Worker):
    """A procrastinate worker whose job slots are its queue's gate."""

    def __init__(self, *, gate: QueueGate, **options: Any) -> None:
        self._gate = gate
        super().__init__(**options)

    @property
    def _job_semaphore(self) -> QueueGate:
        return self._gate

    @_job_semaphore.setter
    def _job_semaphore(self, fixed: asyncio.Semaphore) -> None:
        pass  # procrastinate makes one of its configured size as it starts; the gate stays
