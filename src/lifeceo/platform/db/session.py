"""The request owns the transaction: one session per request, committed when the endpoint
returns without error, rolled back otherwise."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


# scope="function": commit before the response is sent, so a client never sees a 2xx for a write
# that then failed to commit.
DbSession = Annotated[AsyncSession, Depends(request_session, scope="function")]
