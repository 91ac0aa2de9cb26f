"""HTTP endpoints of notifications."""

from typing import Annotated

from fastapi import APIRouter, Query

from lifeceo.community.notifications.schemas import MarkedRead, MarkRead, NotificationOut
from lifeceo.community.notifications.service import notification_service
from lifeceo.community.users.dependencies import CurrentUser
from lifeceo.platform.db.session import DbSession
from lifeceo.platform.http.pagination import Page, Pagination

router = APIRouter(tags=["notifications"])


@router.get("/notifications", response_model=Page[NotificationOut])
async def list_notifications(user: CurrentUser, session: DbSession,
                             page: Pagination,
                             unread: Annotated[bool, Query()] = False):
    items, next_cursor = await notification_service.page(
        session=session, recipient_id=user.id, page=page, unread_only=unread)
    return Page[NotificationOut](items=items, next_cursor=next_cursor)


@router.post("/notifications/read", response_model=MarkedRead)
async def mark_read(body: MarkRead, user: CurrentUser, session: DbSession):
    marked, unread = await notification_service.mark_read(session=session, recipient_id=user.id,
                                                          ids=body.ids)
    return MarkedRead(marked=marked, unread=unread)
