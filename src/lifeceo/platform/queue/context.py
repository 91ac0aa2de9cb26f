"""What a job handler gets: the settings and its process's database and cache."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from lifeceo.platform.cache import Cache
from lifeceo.platform.queue.queues import check_settings
from lifeceo.settings import Settings


@dataclass
class JobContext:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    cache: Cache
    engine: AsyncEngine

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits when the block exits cleanly (the job owns it)."""
        async with self.sessionmaker() as session, session.begin():
            yield session


# The context of each process's engine: `enqueue` only gets a session, and inline mode runs the
# job with the services of the process that enqueued it.
_bound: WeakKeyDictionary[Engine, JobContext] = WeakKeyDictionary()


def bind(context: JobContext) -> None:
    """Make `context` the one jobs enqueued through its engine's sessions run with inline."""
    check_settings(context.settings)
    _bound[context.engine.sync_engine] = context


def bound_to(session: AsyncSession) -> JobContext | None:
    return _bound.get(session.get_bind())
