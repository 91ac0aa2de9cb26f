"""The monitor from the command line: the service on a short-lived engine, as the admin API
answers (lifeceo monitor status | incidents)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from lifeceo.platform.db.engine import create_engine, create_sessionmaker
from lifeceo.platform.flags.defaults import ADVANCED_MONITORING, ON_BY_DEFAULT
from lifeceo.platform.flags.store import FlagStore
from lifeceo.platform.monitor.schemas import Incident, MonitorStatus
from lifeceo.platform.monitor.service import monitor_service
from lifeceo.settings import Settings


async def status(settings: Settings, url: str) -> MonitorStatus:
    async with _session(settings, url) as (engine, session):
        # As the servers evaluate it: from the stored definition, for no one in particular.
        flags = FlagStore(engine=engine)
        await flags.reload()
        paused = not flags.is_enabled(ADVANCED_MONITORING, ON_BY_DEFAULT[ADVANCED_MONITORING])
        return await monitor_service.status(session=session, settings=settings, monitor=None,
                                            paused=paused)


async def incidents(settings: Settings, url: str, *, state: str | None,
                    limit: int) -> list[Incident]:
    async with _session(settings, url) as (_, session):
        return await monitor_service.incidents(session=session, state=state, before=None,
                                               limit=limit)


@asynccontextmanager
async def _session(settings: Settings, url: str
                   ) -> AsyncIterator[tuple[AsyncEngine, AsyncSession]]:
    engine = create_engine(settings, url)
    try:
        async with create_sessionmaker(engine)() as session:
            yield engine, session
    finally:
        await engine.dispose()
