"""HTTP endpoints of events and RSVPs."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from lifeceo.community.events.schemas import (
    Attendee,
    City,
    EventCreate,
    EventFilters,
    EventOut,
    EventUpdate,
    Moment,
    RsvpRequest,
    RsvpStatus,
)
from lifeceo.community.events.service import event_service
from lifeceo.community.fields import Tag
from lifeceo.community.users.dependencies import CurrentUser, OptionalViewer, optional_viewer
from lifeceo.platform.cache import AppCache
from lifeceo.platform.db.session import DbSession
from lifeceo.platform.http.openapi import problem_responses
from lifeceo.platform.http.pagination import Page, Pagination, RowId
from lifeceo.platform.ratelimit import rate_limit

router = APIRouter(tags=["events"])


def event_filters(
    city: Annotated[City | None, Query(description="exact match, case-insensitive")] = None,
    starts_from: Annotated[Moment | None, Query(alias="from",
                                                       description="starts_at >= from")] = None,
    starts_before: Annotated[Moment | None, Query(alias="to",
                                                         description="starts_at < to")] = None,
    tag: Annotated[Tag | None, Query()] = None,
    include_past: Annotated[bool, Query(description="also events that have ended")] = False,
    include_cancelled: Annotated[bool, Query()] = False,
) -> EventFilters:
    return EventFilters(city=city, starts_from=starts_from, starts_before=starts_before, tag=tag,
                        include_past=include_past, include_cancelled=include_cancelled)


@router.post("/events", status_code=status.HTTP_201_CREATED, response_model=EventOut,
             dependencies=[rate_limit("events", viewer=optional_viewer)])
async def create_event(body: EventCreate, user: CurrentUser, session: DbSession, cache: AppCache):
    return await event_service.create(session=session, cache=cache, organizer=user,
                                      fields=body.model_dump())


@router.get("/events", response_model=Page[EventOut])
async def list_events(viewer: OptionalViewer, session: DbSession, cache: AppCache,
                      page: Pagination, filters: Annotated[EventFilters, Depends(event_filters)]):
    items, next_cursor = await event_service.page(session=session, cache=cache, viewer=viewer,
                                                  filters=filters, page=page)
    return Page[EventOut](items=items, next_cursor=next_cursor)


@router.get("/events/{event_id}", response_model=EventOut)
async def get_event(event_id: RowId, viewer: OptionalViewer, session: DbSession,
                    cache: AppCache):
    return await event_service.get(session=session, cache=cache, event_id=event_id,
                                   viewer=viewer)


@router.patch("/events/{event_id}", response_model=EventOut, responses=problem_responses(409))
async def update_event(event_id: RowId, body: EventUpdate, user: CurrentUser, session: DbSession,
                       cache: AppCache):
    return await event_service.update(session=session, cache=cache, actor=user, event_id=event_id,
                                      changes=body.model_dump(exclude_unset=True))


@router.post("/events/{event_id}/cancel", response_model=EventOut,
             responses=problem_responses(409))
async def cancel_event(event_id: RowId, user: CurrentUser, session: DbSession, cache: AppCache):
    return await event_service.cancel(session=session, cache=cache, actor=user, event_id=event_id)


@router.post("/events/{event_id}/rsvp", response_model=EventOut,
             responses=problem_responses(409))
async def rsvp(event_id: RowId, body: RsvpRequest, user: CurrentUser, session: DbSession,
               cache: AppCache):
    return await event_service.rsvp(session=session, cache=cache, user=user, event_id=event_id,
                                    status=body.status)


@router.delete("/events/{event_id}/rsvp", response_model=EventOut)
async def withdraw_rsvp(event_id: RowId, user: CurrentUser, session: DbSession, cache: AppCache):
    return await event_service.withdraw_rsvp(session=session, cache=cache, user=user,
                                             event_id=event_id)


@router.get("/events/{event_id}/attendees", response_model=Page[Attendee])
async def attendees(event_id: RowId, session: DbSession, page: Pagination,
                    rsvp_status: Annotated[RsvpStatus, Query(alias="status")] = "going"):
    items, next_cursor = await event_service.attendees(session=session, event_id=event_id,
                                                       status=rsvp_status, page=page)
    return Page[Attendee](items=items, next_cursor=next_cursor)
