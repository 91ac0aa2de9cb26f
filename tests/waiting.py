"""Waiting in tests for something another task, process or connection does."""

import asyncio
import time


async def eventually(condition, timeout: float = 5.0) -> None:
    """Until `await condition()` is true; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)
