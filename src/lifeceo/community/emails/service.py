"""Which messages the community sends, queued in the transaction of what causes them."""

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.users.models import User
from lifeceo.platform.queue import enqueue

# Event reminders go out this long before the event starts.
REMINDER_LEAD = timedelta(hours=24)


def reminder_key(starts_at: datetime) -> str:
    """The start time as the reminder job names it: one instant, one spelling."""
    return starts_at.astimezone(UTC).isoformat()


class EmailService:
    async def welcome(self, *, session: AsyncSession, user: User) -> None:
        """Queue the welcome message: it is sent if and only if the registration commits."""
        await enqueue(session, "send-email", to=user.email, subject="Welcome to lifeceo",
                      template="welcome", data={"user_id": user.id, "username": user.username})

    async def schedule_event_reminders(self, *, session: AsyncSession, event_id: int,
                                       starts_at: datetime) -> None:
        """Remind those going REMINDER_LEAD before `starts_at`, or now if that has passed.

        Called when an event is created or moved, and when someone says they are going (the
        reminder may have run already: the rerun reminds only the newcomers). Waiting jobs are
        one per event and start time; a job for a start time the event has left skips itself.
        """
        now = datetime.now(UTC)
        if starts_at <= now:
            return
        remind_at = starts_at - REMINDER_LEAD
        key = reminder_key(starts_at)
        await enqueue(session, "event-reminders", event_id=event_id, starts_at=key,
                      queueing_lock=f"event-reminders:{event_id}:{key}",
                      lock=f"event-reminders:{event_id}",
                      schedule_at=remind_at if remind_at > now else None)


email_service = EmailService()
