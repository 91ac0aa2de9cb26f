"""Rules about events and RSVPs: organizers edit and cancel, capacity is never exceeded."""

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.caching import cached
from lifeceo.community.emails.service import email_service
from lifeceo.community.events import cache_keys, repository
from lifeceo.community.events.models import Event
from lifeceo.community.events.schemas import (
    Attendee,
    EventEntry,
    EventFilters,
    EventOut,
    Organizer,
    RsvpStatus,
)
from lifeceo.community.notifications.service import notification_service
from lifeceo.community.users.models import User
from lifeceo.community.users.service import user_service
from lifeceo.errors import BadRequest, Conflict, Forbidden, NotFound, Unprocessable
from lifeceo.platform.cache import Cache
from lifeceo.platform.http.pagination import PageParams, page_of

# Same-user requests racing between "no RSVP yet" and its insert: a retry or two settles them.
RSVP_ATTEMPTS = 3


def _out(event: Event | EventEntry, username: str, display_name: str,
         my_rsvp: str | None) -> EventOut:
    spots_left = None if event.capacity is None else event.capacity - event.going_count
    return EventOut(
        id=event.id, organizer=Organizer(username=username, display_name=display_name),
        title=event.title, description=event.description, city=event.city, venue=event.venue,
        starts_at=event.starts_at, ends_at=event.ends_at, timezone=event.timezone,
        tags=event.tags, price=event.price, capacity=event.capacity,
        going_count=event.going_count, interested_count=event.interested_count,
        spots_left=spots_left, my_rsvp=my_rsvp, cancelled_at=event.cancelled_at,
        created_at=event.created_at, updated_at=event.updated_at,
    )


def _ensure_open(event: Event) -> None:
    if event.cancelled_at is not None:
        raise Conflict("The event was cancelled.")
    if event.ends_at <= datetime.now(UTC):
        raise Conflict("The event is over.")


class EventService:
    async def create(self, *, session: AsyncSession, cache: Cache, organizer: User,
                     fields: dict) -> EventOut:
        event = await repository.add(session, organizer_id=organizer.id, **fields)
        await cache.invalidate(tags=[cache_keys.EVENTS_TAG], session=session)
        await email_service.schedule_event_reminders(session=session, event_id=event.id,
                                                     starts_at=event.starts_at)
        return await self._fresh(session=session, event_id=event.id, viewer=organizer)

    async def get(self, *, session: AsyncSession, cache: Cache, event_id: int,
                  viewer: User | None) -> EventOut:
        async def load() -> dict:
            # An unknown id raises NotFound here: nothing is cached for it.
            return _entry(await self._event(session, event_id))

        entry = await cached(cache, session, cache_keys.event_key(event_id), load,
                             ttl=cache_keys.EVENT_TTL_SECONDS)
        return (await self._present(session=session, cache=cache, viewer=viewer,
                                    entries=[EventEntry.model_validate(entry)]))[0]

    async def page(self, *, session: AsyncSession, cache: Cache, viewer: User | None,
                   filters: EventFilters, page: PageParams) -> tuple[list[EventOut], str | None]:
        if (filters.starts_from is not None and filters.starts_before is not None
                and filters.starts_from > filters.starts_before):
            raise BadRequest("from must not be after to.")

        async def load() -> dict:
            rows, next_cursor = page_of(
                await repository.page(session, filters=filters, page=page),
                page, key=lambda row: (row[0].starts_at, row[0].id))
            events = [event for event, _, _ in rows]
            # Without past events, the list changes with no write when its first event ends.
            changes_at = (min(event.ends_at for event in events).isoformat()
                          if events and not filters.include_past else None)
            return {"items": [_entry(event) for event in events], "next_cursor": next_cursor,
                    "changes_at": changes_at}

        key = cache_keys.list_key(filters, page)
        listing = await cached(cache, session, key, load, ttl=cache_keys.LIST_TTL_SECONDS,
                               tags=[cache_keys.EVENTS_TAG])
        changes_at = listing["changes_at"]
        if changes_at is not None and datetime.fromisoformat(changes_at) <= datetime.now(UTC):
            # An event of the list has ended since it was read: read it again, and drop the old
            # copy in every process so that each does not find it out in turn.
            await cache.delete(key)
            listing = await cache.get_or_compute(key, load, ttl=cache_keys.LIST_TTL_SECONDS,
                                                 tags=[cache_keys.EVENTS_TAG])
        items = await self._present(
            session=session, cache=cache, viewer=viewer,
            entries=[EventEntry.model_validate(entry) for entry in listing["items"]])
        return items, listing["next_cursor"]

    async def update(self, *, session: AsyncSession, cache: Cache, actor: User, event_id: int,
                     changes: dict) -> EventOut:
        event = await self._own_event(session, actor, event_id)
        if event.cancelled_at is not None:
            raise Conflict("A cancelled event cannot be edited.")
        starts_at = changes.get("starts_at", event.starts_at)
        ends_at = changes.get("ends_at", event.ends_at)
        if ends_at <= starts_at:
            raise Unprocessable("ends_at must be after starts_at.", field="ends_at")
        capacity = changes.get("capacity")
        # The row is locked, so going_count cannot grow between this check and the write.
        if capacity is not None and capacity < event.going_count:
            raise Conflict(f"{event.going_count} people are going; capacity cannot be lower.",
                           going_count=event.going_count)
        if changes:
            moved = starts_at != event.starts_at
            await repository.update_event(session, event, **changes)
            await _forget_event(session, cache, event_id)
            if moved:
                await email_service.schedule_event_reminders(session=session, event_id=event_id,
                                                             starts_at=starts_at)
        return await self._fresh(session=session, event_id=event_id, viewer=actor)

    async def cancel(self, *, session: AsyncSession, cache: Cache, actor: User,
                     event_id: int) -> EventOut:
        event = await self._own_event(session, actor, event_id)
        if event.cancelled_at is None:
            await repository.cancel(session, event)
            await _forget_event(session, cache, event_id)
        return await self._fresh(session=session, event_id=event_id, viewer=actor)

    async def rsvp(self, *, session: AsyncSession, cache: Cache, user: User, event_id: int,
                   status: RsvpStatus) -> EventOut:
        event = await self._event(session, event_id)
        _ensure_open(event)
        for _ in range(RSVP_ATTEMPTS):
            # Lock order is always the RSVP row, then the event row: no deadlocks between RSVPs.
            current = await repository.locked_rsvp_status(session, event_id=event_id,
                                                          user_id=user.id)
            if current is None:
                if not await repository.insert_rsvp(session, event_id=event_id, user_id=user.id,
                                                    status=status):
                    continue
                # A full event raises here and the request's rollback takes the insert back.
                await self._move(session, event_id, join=status, leave=None)
                await notification_service.notify(
                    session=session, recipient_id=event.organizer_id, actor_id=user.id,
                    kind="rsvp", subject_id=event_id)
            elif current != status:
                await self._move(session, event_id, join=status, leave=current)
                await repository.set_rsvp_status(session, event_id=event_id, user_id=user.id,
                                                 status=status)
            if current != status:
                await _forget_event(session, cache, event_id)
            if status == "going" and current != "going":
                await email_service.schedule_event_reminders(
                    session=session, event_id=event_id, starts_at=event.starts_at)
            return await self._fresh(session=session, event_id=event_id, viewer=user)
        raise Conflict("Your RSVP changed concurrently; try again.")

    async def withdraw_rsvp(self, *, session: AsyncSession, cache: Cache, user: User,
                            event_id: int) -> EventOut:
        await self._event(session, event_id)
        left = await repository.delete_rsvp(session, event_id=event_id, user_id=user.id)
        if left is not None:
            await repository.move_counters(session, event_id=event_id, join=None, leave=left)
            await _forget_event(session, cache, event_id)
        return await self._fresh(session=session, event_id=event_id, viewer=user)

    async def attendees(self, *, session: AsyncSession, event_id: int, status: RsvpStatus,
                        page: PageParams) -> tuple[list[Attendee], str | None]:
        await self._event(session, event_id)
        rows, next_cursor = page_of(
            await repository.attendees(session, event_id=event_id, status=status,
                                       page=page),
            page, key=lambda row: (row[2], row[3]))
        return [Attendee(username=row[0], display_name=row[1]) for row in rows], next_cursor

    async def _fresh(self, *, session: AsyncSession, event_id: int,
                     viewer: User | None) -> EventOut:
        """The event as this request's transaction sees it, around the cache: what a write
        answers with (it is not committed yet, so it must not be cached)."""
        row = await repository.row_by_id(session, event_id)
        if row is None:
            raise NotFound(f"No event with id {event_id}.")
        event, username, display_name = row
        mine = await self._my_rsvps(session, viewer, [event.id])
        return _out(event, username, display_name, mine.get(event.id))

    async def _present(self, *, session: AsyncSession, cache: Cache, viewer: User | None,
                       entries: list[EventEntry]) -> list[EventOut]:
        """Cached events with their organizers' bylines (cached too) and the viewer's RSVPs
        (one query)."""
        bylines = await user_service.bylines(session=session, cache=cache,
                                             user_ids={entry.organizer_id for entry in entries})
        mine = await self._my_rsvps(session, viewer, [entry.id for entry in entries])
        return [_out(entry, bylines[entry.organizer_id].username,
                     bylines[entry.organizer_id].display_name, mine.get(entry.id))
                for entry in entries if entry.organizer_id in bylines]

    async def _event(self, session: AsyncSession, event_id: int) -> Event:
        event = await repository.by_id(session, event_id)
        if event is None:
            raise NotFound(f"No event with id {event_id}.")
        return event

    async def _own_event(self, session: AsyncSession, actor: User, event_id: int) -> Event:
        event = await repository.by_id_for_update(session, event_id)
        if event is None:
            raise NotFound(f"No event with id {event_id}.")
        if event.organizer_id != actor.id:
            raise Forbidden("Only the organizer may change this event.")
        return event

    async def _move(self, session: AsyncSession, event_id: int, *, join: str,
                    leave: str | None) -> None:
        if await repository.move_counters(session, event_id=event_id, join=join, leave=leave):
            return
        # The conditional update refused: say why, from the latest committed row.
        _ensure_open(await self._event(session, event_id))
        raise Conflict("The event is full.")

    async def _my_rsvps(self, session: AsyncSession, viewer: User | None,
                        event_ids: list[int]) -> dict[int, str]:
        if viewer is None:
            return {}
        return await repository.rsvp_statuses(session, user_id=viewer.id, event_ids=event_ids)


def _entry(event: Event) -> dict:
    return EventEntry.model_validate(event).model_dump(mode="json")


async def _forget_event(session: AsyncSession, cache: Cache, event_id: int) -> None:
    """The event's counts or fields changed: its entry and every list, in every process, once
    the request commits."""
    await cache.invalidate(keys=[cache_keys.event_key(event_id)], tags=[cache_keys.EVENTS_TAG],
                           session=session)


event_service = EventService()
