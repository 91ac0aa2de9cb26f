"""Fixtures of the queue tests: jobs through PostgreSQL, and a worker in the test's event loop."""

from collections.abc import AsyncIterator

import pytest
from queue_helpers import RUNS, InProcessWorker

from lifeceo.platform.queue import JobContext


@pytest.fixture
def queued(queued: JobContext) -> JobContext:
    """The platform's fixture (jobs through PostgreSQL), with no runs recorded yet."""
    RUNS.clear()
    return queued


@pytest.fixture
async def worker(queued: JobContext) -> AsyncIterator[InProcessWorker]:
    running = InProcessWorker(queued)
    yield running
    if running.running:
        await running.stop()


