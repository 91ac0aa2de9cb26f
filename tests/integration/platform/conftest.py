"""Fixtures shared by the platform tests."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text, update
from tests import factories

from lifeceo.community.users.models import User
from lifeceo.platform.queue import JobContext
from lifeceo.platform.queue.context import bind


@pytest.fixture
async def queued(app) -> AsyncIterator[JobContext]:
    """Jobs go through PostgreSQL (not inline, as the suite runs them) for the test;
    procrastinate's tables start empty."""
    async with app.state.engine.begin() as connection:
        await connection.execute(text(
            "TRUNCATE procrastinate_jobs, procrastinate_events, procrastinate_periodic_defers, "
            "procrastinate_workers RESTART IDENTITY CASCADE"))
    settings = app.state.settings.model_copy(update={"jobs_inline": False})
    context = JobContext(settings=settings, sessionmaker=app.state.sessionmaker,
                         cache=app.state.cache, engine=app.state.engine)
    bind(context)
    try:
        yield context
    finally:
        bind(app.state.jobs)


@pytest.fixture
async def admin(client, session) -> dict[str, str]:
    """The headers of an administrator, signed up through the API."""
    headers = await factories.user(client, "boss")
    await session.execute(update(User).where(User.username == "boss").values(is_admin=True))
    await session.commit()
    return headers
