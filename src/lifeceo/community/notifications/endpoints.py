"""HTTP endpoints of notifications."""

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from lifeceo.community.notifications.schemas import MarkedRead, MarkRead, NotificationOut
from lifeceo.community.notifications.service import notification_service
from lifeceo.community.notifications.stream import event_stream
from lifeceo.community.users.dependencies import CurrentUser
from lifeceo.platform.db.session import DbSession
from lifeceo.platform.http.pagination import MAX_ROW_ID, Page, Pagination
from lifeceo.platform.pubsub import AppHub

router = APIRouter(tags=["notifications"])
EVENT_STREAM = "text/event-stream"


@router.get("/notifications", response_model=Page[NotificationOut])
async def list_notifications(user: CurrentUser, session: DbSession,
                             page: Pagination,
                             unread: Annotated[bool, Query()] = False):
    items, next_cursor = await notification_service.page(
        session=session, recipient_id=user.id, page=page, unread_only=unread)
    return Page[NotificationOut](items=items, next_cursor=next_cursor)


@router.get(
    "/notifications/stream", response_class=StreamingResponse,
    responses={200: {"description": "Server-Sent Events: `event: notification`, `id:` a stream "
                                    "id, `data:` a notification as in the list; comments as "
                                    "heartbeats",
                     "content": {EVENT_STREAM: {"schema": {"type": "string"}}}}})
async def stream_notifications(
        user: CurrentUser, hub: AppHub, request: Request,
        last_event_id: Annotated[int | None, Header(
            ge=0, le=MAX_ROW_ID, description="Resume after this event id")] = None):
    """Changes to your notifications as they happen. The request's database session is closed
    before the stream starts (the dependency's scope is the function): waiting clients hold no
    connection."""
    settings = request.app.state.settings
    events = event_stream(
        hub=hub, sessionmaker=request.app.state.sessionmaker, recipient_id=user.id,
        last_event_id=last_event_id,
        heartbeat_seconds=settings.notifications_stream_heartbeat_seconds,
        max_seconds=settings.notifications_stream_max_seconds)
    # X-Accel-Buffering: nginx would otherwise hold events back in its buffer.
    return StreamingResponse(events, media_type=EVENT_STREAM, headers={"X-Accel-Buffering": "no"})


@router.post("/notifications/read", response_model=MarkedRead)
async def mark_read(body: MarkRead, user: CurrentUser, session: DbSession):
    marked, unread = await notification_service.mark_read(session=session, recipient_id=user.id,
                                                          ids=body.ids)
    return MarkedRead(marked=marked, unread=unread)
