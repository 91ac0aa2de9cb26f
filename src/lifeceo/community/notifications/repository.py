"""All SQL about notifications."""

from datetime import timedelta

from sqlalchemy import func, select, text, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.notifications.models import Notification, NotificationAction
from lifeceo.platform.http.pagination import PageParams

# The next value of stream_id's identity sequence, for a row that changes.
_NEXT_STREAM_ID = func.nextval(func.pg_get_serial_sequence("notifications", "stream_id"))


async def lock_recipient(session: AsyncSession, recipient_id: int) -> None:
    """Until the transaction ends, one writer per recipient: two likes cannot both open a row,
    and the recipient's stream ids are drawn in commit order, so none is committed below an
    id a client has already seen."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                          {"key": f"notifications:{recipient_id}"})


async def action(session: AsyncSession, *, recipient_id: int,
                 source: str) -> NotificationAction | None:
    return await session.get(NotificationAction, (recipient_id, source))


async def open_row(session: AsyncSession, *, recipient_id: int, kind: str, subject_id: int,
                   window: timedelta) -> Notification | None:
    """The unread notification an action of this kind and subject joins: one active within
    `window`."""
    return await session.scalar(
        select(Notification)
        .where(Notification.recipient_id == recipient_id, Notification.kind == kind,
               Notification.subject_id == subject_id, Notification.read_at.is_(None),
               Notification.updated_at > func.now() - window)
        .order_by(Notification.stream_id.desc()).limit(1))


async def add(session: AsyncSession, **values: object) -> Notification:
    row = Notification(**values)
    session.add(row)
    await session.flush()  # INSERT ... RETURNING fills in the id, stream id and timestamps
    return row


async def join(session: AsyncSession, row: Notification, *, actor_id: int) -> Notification:
    """One more actor, now the row's latest."""
    return await session.scalar(
        update(Notification).where(Notification.id == row.id)
        .values(actor_id=actor_id, actor_count=Notification.actor_count + 1,
                updated_at=func.now(), stream_id=_NEXT_STREAM_ID)
        .returning(Notification), execution_options={"populate_existing": True})


async def add_action(session: AsyncSession, *, recipient_id: int, source: str,
                     notification_id: int, actor_id: int) -> None:
    session.add(NotificationAction(recipient_id=recipient_id, source=source,
                                   notification_id=notification_id, actor_id=actor_id))
    await session.flush()


async def by_id(session: AsyncSession, notification_id: int) -> Notification | None:
    return await session.get(Notification, notification_id, populate_existing=True)


async def latest_actor_ids(session: AsyncSession, notification_ids: list[int], *,
                           per_row: int) -> dict[int, list[int]]:
    """Up to `per_row` actors of each notification, newest first; one query that reads only
    that many index entries per notification however many actors it has."""
    if not notification_ids:
        return {}
    latest = (
        select(NotificationAction.actor_id, NotificationAction.created_at)
        .where(NotificationAction.notification_id == Notification.id)
        .order_by(NotificationAction.created_at.desc()).limit(per_row).lateral()
    )
    found: dict[int, list[int]] = {notification_id: [] for notification_id in notification_ids}
    for notification_id, actor_id in await session.execute(
            select(Notification.id, latest.c.actor_id).join(latest, true())
            .where(Notification.id.in_(notification_ids))
            .order_by(Notification.id, latest.c.created_at.desc())):
        found[notification_id].append(actor_id)
    return found


async def page_for(session: AsyncSession, *, recipient_id: int, page: PageParams,
                   unread_only: bool) -> list[Notification]:
    """Latest activity first: a notification an action just joined comes back to the top."""
    query = (
        select(Notification).where(Notification.recipient_id == recipient_id)
        .order_by(Notification.stream_id.desc()).limit(page.limit + 1)
    )
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    if page.after:
        _, stream_id = page.after
        query = query.where(Notification.stream_id < stream_id)
    return list(await session.scalars(query))


async def changed_since(session: AsyncSession, *, recipient_id: int, stream_id: int,
                        limit: int) -> list[Notification]:
    """The recipient's notifications that changed after `stream_id`, oldest change first; the
    latest `limit` of them."""
    newest = list(await session.scalars(
        select(Notification)
        .where(Notification.recipient_id == recipient_id, Notification.stream_id > stream_id)
        .order_by(Notification.stream_id.desc()).limit(limit)))
    return newest[::-1]


async def latest_stream_id(session: AsyncSession, *, recipient_id: int) -> int:
    return await session.scalar(
        select(func.coalesce(func.max(Notification.stream_id), 0))
        .where(Notification.recipient_id == recipient_id))


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
