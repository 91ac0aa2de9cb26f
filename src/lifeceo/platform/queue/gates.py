"""How many jobs of a queue run at once in this worker process, changeable at runtime (the queue
lever, and the queue_stall fault). procrastinate fetches a job only once its worker's semaphore
grants a slot, and that semaphore's size is fixed when the worker starts; a GatedWorker's
semaphore is the queue's gate, so a lowered concurrency fetches fewer jobs (the others stay in the
database, free for other nodes) and a raised one fetches more, up to the configured bound."""

import asyncio
import time
from typing import Any

import procrastinate.worker


class QueueGate:
    """Its limit: 0 while stalled (the fault), else the lever's override while it lasts, else the
    queue's concurrency. The two are kept apart so that neither erases the other."""

    def __init__(self, concurrency: int) -> None:
        self.default = concurrency
        self.running = 0
        self.waiting = 0
        self.stalled_until = 0.0
        self._override: tuple[int, float] | None = None
        # Every acquire, the worker's and its jobs' callbacks run on one loop: a future per
        # waiter, resolved by whatever may have freed a slot, is all the signalling needed.
        self._waiters: list[asyncio.Future] = []
        # An expiry frees slots nobody announces; a timer announces it.
        self._expiries: dict[str, asyncio.TimerHandle] = {}

    @property
    def limit(self) -> int:
        now = time.time()
        if self.stalled_until > now:
            return 0
        if self._override is not None and now < self._override[1]:
            return self._override[0]
        return self.default

    def resize(self, concurrency: int | None, *, until: float = 0.0) -> None:
        """`concurrency` slots until `until` (time.time()); None: back to the default."""
        self._override = None if concurrency is None else (concurrency, until)
        self._changed("override", until if concurrency is not None else None)

    def stall(self, until: float | None) -> None:
        """No slot until `until` (time.time()); None: lifted."""
        self.stalled_until = until or 0.0
        self._changed("stall", until)

    def _changed(self, what: str, until: float | None) -> None:
        if (expiry := self._expiries.pop(what, None)) is not None:
            expiry.cancel()
        if until is not None:
            self._expiries[what] = asyncio.get_running_loop().call_later(
                max(0.0, until - time.time()), self._wake)
        self._wake()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def acquire(self) -> bool:
        """A slot, once fewer than the current limit are taken (asyncio.Semaphore's interface)."""
        self.waiting += 1
        try:
            while self.running >= self.limit:
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.append(waiter)
                await waiter
        finally:
            self.waiting -= 1
        self.running += 1
        return True

    def release(self) -> None:
        # Called from procrastinate's done callbacks, outside any coroutine.
        self.running -= 1
        self._wake()

    def close(self) -> None:
        for expiry in self._expiries.values():
            expiry.cancel()
        self._expiries.clear()


# The gates of this process's queue workers (none in a web process).
GATES: dict[str, QueueGate] = {}


def close_gates() -> None:
    """A stopped worker's gates: their timers cancelled, and gone from GATES."""
    for gate in GATES.values():
        gate.close()
    GATES.clear()


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
