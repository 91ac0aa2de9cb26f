"""All SQL about media."""

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.media.models import Media


async def add(session: AsyncSession, **values: object) -> Media:
    row = Media(**values)
    session.add(row)
    await session.flush()
    # created_at, status and variants are set by the database.
    await session.refresh(row)
    return row


async def by_id(session: AsyncSession, media_id: int) -> Media | None:
    return await session.scalar(select(Media).where(Media.id == media_id))


async def by_ids(session: AsyncSession, media_ids: list[int]) -> list[Media]:
    return list(await session.scalars(select(Media).where(Media.id.in_(media_ids))))


async def locked(session: AsyncSession, media_id: int) -> Media | None:
    """The media, locked until commit: a deletion waits, then sees what this transaction wrote."""
    return await session.scalar(
        select(Media).where(Media.id == media_id).with_for_update()
        .execution_options(populate_existing=True))


async def update(session: AsyncSession, media: Media, **values: object) -> None:
    for key, value in values.items():
        setattr(media, key, value)
    await session.flush()


async def remove(session: AsyncSession, media_id: int) -> Media | None:
    """Delete the row; what it held at that moment (a processing run may have just committed
    new variants), or None if it was already gone."""
    return await session.scalar(
        delete(Media).where(Media.id == media_id).returning(Media)
        .execution_options(populate_existing=True))
