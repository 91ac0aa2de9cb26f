"""All SQL about events and RSVPs."""

from datetime import datetime

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.events.models import Event, Rsvp
from lifeceo.community.events.schemas import EventFilters
from lifeceo.community.users.models import User
from lifeceo.platform.http.pagination import PageParams

EventRow = tuple[Event, str, str]
COUNTER = {"going": Event.going_count, "interested": Event.interested_count}


def _with_organizer():
    # populate_existing: counters moved by UPDATE statements must not be read from the identity map.
    return (select(Event, User.username, User.display_name)
            .join(User, User.id == Event.organizer_id)
            .execution_options(populate_existing=True))


async def add(session: AsyncSession, **values: object) -> Event:
    event = Event(**values)
    session.add(event)
    await session.flush()
    return event


async def by_id(session: AsyncSession, event_id: int) -> Event | None:
    return await session.scalar(
        select(Event).where(Event.id == event_id).execution_options(populate_existing=True))


async def by_id_for_update(session: AsyncSession, event_id: int) -> Event | None:
    """The event, locked until the transaction ends, so that checks and the write agree."""
    # FOR NO KEY UPDATE: it need not wait for the key-share locks that RSVP inserts take.
    return await session.scalar(
        select(Event).where(Event.id == event_id).with_for_update(key_share=True)
        .execution_options(populate_existing=True))


async def row_by_id(session: AsyncSession, event_id: int) -> EventRow | None:
    row = (await session.execute(_with_organizer().where(Event.id == event_id))).first()
    return (row[0], row[1], row[2]) if row else None


async def page(session: AsyncSession, *, filters: EventFilters, page: PageParams) -> list[EventRow]:
    query = _with_organizer().order_by(Event.starts_at, Event.id).limit(page.limit + 1)
    if filters.city is not None:
        # Matches the expression index ix_events_city_starts on (lower(city), starts_at, id).
        query = query.where(func.lower(Event.city) == filters.city.lower())
    if filters.starts_from is not None:
        query = query.where(Event.starts_at >= filters.starts_from)
    if filters.starts_before is not None:
        query = query.where(Event.starts_at < filters.starts_before)
    if filters.tag is not None:
        query = query.where(Event.tags.contains([filters.tag]))
    if not filters.include_past:
        query = query.where(Event.ends_at > func.now())
    if not filters.include_cancelled:
        query = query.where(Event.cancelled_at.is_(None))
    if page.after:
        query = query.where(tuple_(Event.starts_at, Event.id) > tuple_(*page.after))
    return [(event, username, display_name)
            for event, username, display_name in await session.execute(query)]


async def rsvp_statuses(session: AsyncSession, *, user_id: int,
                        event_ids: list[int]) -> dict[int, str]:
    """The user's RSVP per event, in one query for a whole page."""
    if not event_ids:
        return {}
    rows = await session.execute(select(Rsvp.event_id, Rsvp.status)
                                 .where(Rsvp.user_id == user_id, Rsvp.event_id.in_(event_ids)))
    return {event_id: status for event_id, status in rows}


async def update_event(session: AsyncSession, event: Event, **values: object) -> Event:
    for key, value in values.items():
        setattr(event, key, value)
    event.updated_at = func.now()
    await session.flush()
    return event


async def cancel(session: AsyncSession, event: Event) -> None:
    event.cancelled_at = func.now()
    await session.flush()


async def locked_rsvp_status(session: AsyncSession, *, event_id: int, user_id: int) -> str | None:
    """The user's RSVP status, its row locked so that the same user's requests take turns."""
    return await session.scalar(
        select(Rsvp.status).where(Rsvp.event_id == event_id, Rsvp.user_id == user_id)
        .with_for_update())


async def insert_rsvp(session: AsyncSession, *, event_id: int, user_id: int, status: str) -> bool:
    """False when a concurrent request of the same user inserted it first."""
    inserted = await session.scalar(
        pg_insert(Rsvp).values(event_id=event_id, user_id=user_id, status=status)
        .on_conflict_do_nothing().returning(Rsvp.user_id))
    return inserted is not None


async def set_rsvp_status(session: AsyncSession, *, event_id: int, user_id: int,
                          status: str) -> None:
    # The RSVP moves to the end of its new list: attendees are listed in the order they joined it.
    await session.execute(update(Rsvp).where(Rsvp.event_id == event_id, Rsvp.user_id == user_id)
                          .values(status=status, created_at=func.now()))


async def delete_rsvp(session: AsyncSession, *, event_id: int, user_id: int) -> str | None:
    """The deleted RSVP's status, or None when there was none."""
    return await session.scalar(
        delete(Rsvp).where(Rsvp.event_id == event_id, Rsvp.user_id == user_id)
        .returning(Rsvp.status))


async def move_counters(session: AsyncSession, *, event_id: int, join: str | None,
                        leave: str | None) -> bool:
    """Count one person into `join` and out of `leave`; False if full, cancelled or over."""
    # A relative update under the row lock, whose WHERE PostgreSQL re-checks against the latest
    # row version after waiting: no number of concurrent RSVPs can overfill the event.
    values = {}
    statement = update(Event).where(Event.id == event_id)
    if join is not None:
        values[COUNTER[join].key] = COUNTER[join] + 1
        statement = statement.where(Event.cancelled_at.is_(None), Event.ends_at > func.now())
    if join == "going":
        statement = statement.where(
            (Event.capacity.is_(None)) | (Event.going_count < Event.capacity))
    if leave is not None:
        values[COUNTER[leave].key] = COUNTER[leave] - 1
    moved = await session.scalar(
        statement.values(values).returning(Event.id).execution_options(synchronize_session=False))
    return moved is not None


async def attendees(session: AsyncSession, *, event_id: int, status: str,
                    page: PageParams) -> list[tuple[str, str, datetime, int]]:
    """(username, display_name, rsvp created_at, user id), in the order people joined the list."""
    query = (
        select(User.username, User.display_name, Rsvp.created_at, Rsvp.user_id)
        .join(User, User.id == Rsvp.user_id)
        .where(Rsvp.event_id == event_id, Rsvp.status == status)
        .order_by(Rsvp.created_at, Rsvp.user_id).limit(page.limit + 1)
    )
    if page.after:
        query = query.where(tuple_(Rsvp.created_at, Rsvp.user_id) > tuple_(*page.after))
    return list(await session.execute(query))
