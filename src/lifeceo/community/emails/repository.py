"""All SQL about email: claiming the attendees an event reminder goes to."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import DateTime, exists, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.emails.models import EventReminder
from lifeceo.community.events.models import Rsvp
from lifeceo.community.users.models import User


@dataclass(frozen=True)
class Recipient:
    user_id: int
    email: str
    username: str
    display_name: str


async def claim_reminders(session: AsyncSession, *, event_id: int, starts_at: datetime,
                          limit: int) -> list[Recipient]:
    """Up to `limit` people going to the event who were not yet reminded of this start time,
    recorded as reminded by this transaction."""
    reminded = exists().where(EventReminder.event_id == Rsvp.event_id,
                              EventReminder.user_id == Rsvp.user_id,
                              EventReminder.starts_at == starts_at)
    going = (select(Rsvp.event_id, Rsvp.user_id, literal(starts_at, DateTime(timezone=True)))
             .where(Rsvp.event_id == event_id, Rsvp.status == "going", ~reminded)
             .order_by(Rsvp.user_id).limit(limit))
    # ON CONFLICT: of two jobs claiming at once, the second waits for the first, then skips
    # whom it claimed; nobody is claimed twice.
    claimed = (pg_insert(EventReminder)
               .from_select(["event_id", "user_id", "starts_at"], going)
               .on_conflict_do_nothing().returning(EventReminder.user_id).cte("claimed"))
    rows = await session.execute(
        select(User.id, User.email, User.username, User.display_name)
        .join(claimed, claimed.c.user_id == User.id).order_by(User.id))
    return [Recipient(*row) for row in rows]
