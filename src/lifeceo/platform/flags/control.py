"""Flag changes from the command line: the service on a short-lived engine, committed, audited
as "cli" and announced to every running process like a change through the API."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.platform.db.engine import create_engine, create_sessionmaker
from lifeceo.platform.flags.defaults import ensure_defaults
from lifeceo.platform.flags.models import FeatureFlag
from lifeceo.platform.flags.schemas import FlagUpdate
from lifeceo.platform.flags.service import Announce, flag_service
from lifeceo.platform.flags.store import change_message
from lifeceo.platform.pubsub import publish
from lifeceo.settings import Settings

ACTOR = "cli"


async def list_flags(settings: Settings, url: str) -> Sequence[FeatureFlag]:
    async with _transaction(settings, url) as (session, _):
        return await flag_service.list_flags(session=session)


async def set_flag(settings: Settings, url: str, *, key: str, changes: FlagUpdate) -> FeatureFlag:
    """Apply the changes whatever the version (NotFound, Unprocessable as the API's)."""
    async with _transaction(settings, url) as (session, announce):
        return await flag_service.update(session=session, actor=ACTOR, key=key, body=changes,
                                         expected_version=None, announce=announce)


async def kill_flag(settings: Settings, url: str, *, key: str, killed: bool) -> FeatureFlag:
    async with _transaction(settings, url) as (session, announce):
        return await flag_service.kill(session=session, actor=ACTOR, key=key, killed=killed,
                                       announce=announce)


@asynccontextmanager
async def _transaction(settings: Settings, url: str
                       ) -> AsyncIterator[tuple[AsyncSession, Announce]]:
    """A session on a short-lived engine, committed when the block ends without error; changes
    are announced over the transport the servers listen on (Redis if configured, else NOTIFY)."""
    engine = create_engine(settings, url)

    async def announce(keys: list[str]) -> None:
        await publish(change_message(keys), settings=settings, engine=engine)

    try:
        # A database no server has started yet still gets its platform flags.
        await ensure_defaults(engine)
        async with create_sessionmaker(engine)() as session:
            yield session, announce
            await session.commit()
    finally:
        await engine.dispose()
