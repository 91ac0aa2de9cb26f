"""How late this process's event loop runs what is due, and Redis calls timed on the loop's time.

A timeout measured on a busy loop includes the time the loop spent on other work: a Redis answer
already in the socket is read only when the loop gets to it. Bursts of password checks made the
rate limiter's 250 ms timeouts expire with Redis healthy, and 50 ms cache calls at saturation
opened the cache's breaker hundreds of times in five minutes. So a call is only taken for timed
out once the loop has been on time for the whole timeout and still no answer came."""

import asyncio
import time
import weakref
from collections import deque
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")
# A tick costs a few microseconds; 100 a second resolves lags well below the 50 ms cache timeout.
TICK_SECONDS = 0.01
# Ticks kept: the last few seconds, longer than any timeout the callers use.
HISTORY_TICKS = 500
# However late the loop runs, a call is given up after this many timeouts (unless told otherwise).
PATIENCE_TIMEOUTS = 8
# A remaining budget this small is spent (each window's wake-up overshoots by a fraction of this).
MIN_WAIT_SECONDS = 0.001


class LaggedTimeout(TimeoutError):
    """No answer within the patience, but the loop was late meanwhile: not evidence of an outage."""

    def __init__(self, lag_seconds: float) -> None:
        super().__init__(f"no answer while the event loop lagged {lag_seconds * 1000:.0f} ms")
        self.lag_seconds = lag_seconds


class LoopLag:
    """Samples the running loop's scheduling delay: a task sleeps a tick and notes how late it
    woke; a tick overdue now means the loop is busy now."""

    def __init__(self) -> None:
        self._ticks: deque[tuple[float, float]] = deque(maxlen=HISTORY_TICKS)  # (woke, lag)
        self._due = time.monotonic() + TICK_SECONDS
        self._task = asyncio.get_running_loop().create_task(self._run(), name="event-loop lag")

    async def _run(self) -> None:
        while True:
            self._due = time.monotonic() + TICK_SECONDS
            await asyncio.sleep(TICK_SECONDS)
            woke = time.monotonic()
            self._ticks.append((woke, max(0.0, woke - self._due)))

    def _lags_since(self, since: float) -> list[float]:
        """The delays within [since, now]: each tick's, and the one overdue now."""
        if self._task.done():  # stopped: nothing known, nothing excused
            return []
        now = time.monotonic()
        lags = [min(max(0.0, now - self._due), now - since)]
        for woke, lag in reversed(self._ticks):
            if woke <= since:
                break
            lags.append(min(lag, woke - since))
        return lags

    def worst_since(self, since: float) -> float:
        """The longest the loop kept something waiting within [since, now], in seconds."""
        return max(self._lags_since(since), default=0.0)

    def busy_since(self, since: float) -> float:
        """How much of [since, now] the loop spent late, on other work, in seconds."""
        return sum(self._lags_since(since))

    def on_time_since(self, since: float) -> float:
        """How much of [since, now] the loop was on time: the time in which an answer due
        could have been read."""
        return max(0.0, time.monotonic() - since - self.busy_since(since))

    def recent(self) -> float:
        """The worst lag of the last second, for the log lines of decisions taken on it."""
        return self.worst_since(time.monotonic() - 1.0)

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


_monitors: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopLag]" = (
    weakref.WeakKeyDictionary())


def monitor() -> LoopLag:
    """The running loop's monitor, started on first use (the application starts it at once)."""
    loop = asyncio.get_running_loop()
    found = _monitors.get(loop)
    if found is None or found._task.done():
        found = _monitors[loop] = LoopLag()
    return found


async def stop() -> None:
    found = _monitors.pop(asyncio.get_running_loop(), None)
    if found is not None:
        await found.stop()


def on_time_since(since: float) -> float:
    return monitor().on_time_since(since)


async def wait_for(call: Awaitable[T], timeout: float, *,
                   patience_seconds: float | None = None) -> T:
    """`await call`, raising TimeoutError once the loop has been on time for `timeout` in all
    without an answer, or LaggedTimeout after `patience_seconds` (PATIENCE_TIMEOUTS timeouts) of
    a loop that kept lagging.

    The call is not cancelled while the loop is the reason it has not finished: cancelling a
    Redis read also drops its connection, and the reconnections slowed the next calls further."""
    lag = monitor()
    task = asyncio.ensure_future(call)
    started = time.monotonic()
    give_up = started + (timeout * PATIENCE_TIMEOUTS if patience_seconds is None
                         else patience_seconds)
    budget = timeout
    try:
        while True:
            window = time.monotonic()
            done, _ = await asyncio.wait({task}, timeout=max(0.0, min(budget, give_up - window)))
            if done:
                return task.result()
            now = time.monotonic()
            budget -= max(0.0, now - window - lag.busy_since(window))
            if budget < MIN_WAIT_SECONDS:
                raise TimeoutError(f"no answer in {timeout * 1000:.0f} ms")
            if now >= give_up:
                raise LaggedTimeout(lag.worst_since(started))
    finally:
        if not task.done():
            task.cancel()
            # Given up: what it ends with (CancelledError, or a gather's error) is nobody's.
            task.add_done_callback(_discard_outcome)


def _discard_outcome(task: asyncio.Future) -> None:
    if not task.cancelled():
        task.exception()
