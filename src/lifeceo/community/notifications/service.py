"""Rules about notifications: nobody is notified of their own actions."""

from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.notifications import repository
from lifeceo.community.notifications.schemas import NotificationOut
from lifeceo.community.users.repository import by_ids
from lifeceo.platform.http.pagination import PageParams, page_of


class NotificationService:
    async def notify(self, *, session: AsyncSession, recipient_id: int, actor_id: int, kind: str,
                     subject_id: int) -> None:
        if recipient_id == actor_id:
            return
        await repository.add(session, recipient_id=recipient_id, actor_id=actor_id, kind=kind,
                             subject_id=subject_id)

    async def page(self, *, session: AsyncSession, recipient_id: int, page: PageParams,
                   unread_only: bool) -> tuple[list[NotificationOut], str | None]:
        rows, next_cursor = page_of(
            await repository.page_for(session, recipient_id=recipient_id, page=page,
                                      unread_only=unread_only), page)
        actors = {user.id: user.username for user in await by_ids(session, list({r.actor_id for r in rows}))}
        items = [
            NotificationOut(id=row.id, kind=row.kind, actor=actors.get(row.actor_id, ""),
                            subject_id=row.subject_id, created_at=row.created_at, read_at=row.read_at)
            for row in rows
        ]
        return items, next_cursor

    async def mark_read(self, *, session: AsyncSession, recipient_id: int,
                        ids: list[int] | None) -> tuple[int, int]:
        marked = await repository.mark_read(session, recipient_id=recipient_id, ids=ids)
        return marked, await repository.unread_count(session, recipient_id=recipient_id)


notification_service = NotificationService()
