"""Ending a listener's task for certain, and within a bound: one cancel is not always enough.

Python 3.11's `asyncio.wait_for` returns the awaited result instead of raising when a cancel
arrives just as that operation completes (CPython bpo-42130, fixed in 3.12). redis-py awaits its
socket writes in `wait_for`, among them the pub/sub health-check PING every 5 s, so a shutdown
that cancelled the listener at that instant was lost: the task went back into `get_message`, and
`stop()` waited for it for ever (seen once: a worker in "Waiting for application shutdown" for
over 2 minutes; tests/integration/platform/test_pubsub_stop.py lost 14 to 212 of 300 listeners
stopped around the PING)."""

import asyncio

import structlog

# A lost cancel is repeated this soon: the task is then waiting on its next read, where it lands.
RECANCEL_SECONDS = 0.1
# A listener's task ends within a loop iteration of its cancel; past this, shutdown goes on.
STOP_SECONDS = 2.0
log = structlog.get_logger(__name__)


async def cancel_and_wait(task: asyncio.Task | None, *, purpose: str,
                          timeout_seconds: float = STOP_SECONDS) -> None:
    """Cancel `task` until it ends, for at most `timeout_seconds`; then leave it behind."""
    if task is None:
        return
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_seconds
    while not task.done():
        remaining = deadline - loop.time()
        if remaining <= 0:
            log.error(f"{purpose} listener did not stop; shutting down without it",
                      timeout_seconds=timeout_seconds)
            return
        task.cancel()
        await asyncio.wait({task}, timeout=min(RECANCEL_SECONDS, remaining))
    if not task.cancelled() and task.exception() is not None:
        log.warning(f"{purpose} listener had failed", error=repr(task.exception()))
