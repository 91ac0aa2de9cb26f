"""All SQL about notifications."""

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.notifications.models import Notification
from lifeceo.platform.http.pagination import PageParams


async def add(session: AsyncSession, **values: object) -> Notification:
    row = Notification(**values)
    session.add(row)
    await session.flush()
    return row


async def page_for(session: AsyncSession, *, recipient_id: int, page: PageParams,
                   unread_only: bool) -> list[Notification]:
    query = (
        select(Notification).where(Notification.recipient_id == recipient_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(page.limit + 1)
    )
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    if page.after:
        created_at, row_id = page.after
        query = query.where(or_(Notification.created_at < created_at,
                                and_(Notification.created_at == created_at, Notification.id < row_id)))
    return list(await session.scalars(query))


async def unread_count(session: AsyncSession, *, recipient_id: int) -> int:
    return await session.scalar(
        select(func.count()).select_from(Notification)
        .where(Notification.recipient_id == recipient_id, Notification.read_at.is_(None))
    )


async def mark_read(session: AsyncSession, *, recipient_id: int, ids: list[int] | None) -> int:
    """Mark the given notifications (all when None) read; only the recipient's own."""
    statement = (update(Notification)
                 .where(Notification.recipient_id == recipient_id, Notification.read_at.is_(None))
                 .values(read_at=func.now()))
    if ids is not None:
        statement = statement.where(Notification.id.in_(ids))
    return (await session.execute(statement)).rowcount
