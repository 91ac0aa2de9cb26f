"""Administrator accounts from the command line, through the same service as registration."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.users import repository
from lifeceo.community.users.schemas import Register
from lifeceo.community.users.service import user_service
from lifeceo.platform.db.engine import create_engine, create_sessionmaker
from lifeceo.settings import Settings


async def promote(settings: Settings, url: str, *, username: str) -> bool:
    """Make an existing user an administrator; False if there is no such user."""
    async with _transaction(settings, url) as session:
        user = await repository.by_username(session, username)
        if user is None:
            return False
        await repository.update_user(session, user, is_admin=True)
        return True


async def create(settings: Settings, url: str, *, account: Register) -> None:
    """Register the account as an administrator (Conflict if the name or email is taken)."""
    async with _transaction(settings, url) as session:
        user = await user_service.register(session=session, username=account.username,
                                           email=account.email, password=account.password)
        await repository.update_user(session, user, is_admin=True)


@asynccontextmanager
async def _transaction(settings: Settings, url: str) -> AsyncIterator[AsyncSession]:
    """A session on a short-lived engine, committed when the block ends without error."""
    engine = create_engine(settings, url)
    try:
        async with create_sessionmaker(engine)() as session:
            yield session
            await session.commit()
    finally:
        await engine.dispose()
