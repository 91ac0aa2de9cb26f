"""All SQL about media."""

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.media.models import Media


async def add(session: AsyncSession, **values: object) -> Media:
    row = Media(**values)
    session.add(row)
    await session.flush()
    # created_at is set by the database.
    await session.refresh(row)
    return row


async def by_id(session: AsyncSession, media_id: int) -> Media | None:
    return await session.scalar(select(Media).where(Media.id == media_id))


async def remove(session: AsyncSession, media_id: int) -> None:
    await session.execute(delete(Media).where(Media.id == media_id))
