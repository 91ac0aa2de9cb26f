"""Fixtures of the queue tests: jobs through PostgreSQL, and a worker in the test's event loop."""

from collections.abc import AsyncIterator

import pytest
from queue_helpers import RUNS, InProcessWorker
from sqlalchemy import text

from lifeceo.platform.queue import JobContext
from lifeceo.platform.queue.context import bind


@pytest.fixture
async def queued(app) -> AsyncIterator[JobContext]:
    """Jobs go through PostgreSQL (not inline) for the test; procrastinate's tables start empty."""
    async with app.state.engine.begin() as connection:
        await connection.execute(text(
            "TRUNCATE procrastinate_jobs, procrastinate_events, procrastinate_periodic_defers, "
            "procrastinate_workers RESTART IDENTITY CASCADE"))
    RUNS.clear()
    settings = app.state.settings.model_copy(update={"jobs_inline": False})
    context = JobContext(settings=settings, sessionmaker=app.state.sessionmaker,
                         cache=app.state.cache, engine=app.state.engine)
    bind(context)
    try:
        yield context
    finally:
        bind(app.state.jobs)


@pytest.fixture
async def worker(queued: JobContext) -> AsyncIterator[InProcessWorker]:
    running = InProcessWorker(queued)
    yield running
    if running.running:
        await running.stop()


