"""Jobs of the email queue: render and send one message; remind an event's attendees."""

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from lifeceo.community.emails import repository
from lifeceo.community.emails.repository import Recipient
from lifeceo.community.emails.service import reminder_key
from lifeceo.community.events import repository as events_repository
from lifeceo.community.events.models import Event
from lifeceo.platform.mail import Templates, compose, mailer_for, stable_message_id
from lifeceo.platform.queue import JobContext, enqueue_many, job

templates = Templates(Path(__file__).parent / "templates")
# Reminders claimed and queued per transaction: a festival's thousands of attendees do not make
# one long transaction, and a rerun after a crash resumes after the batches already committed.
REMINDER_BATCH = 500


@job("send-email", queue="email")
async def send_email(ctx: JobContext, *, to: str, subject: str, template: str,
                     data: dict) -> None:
    """Render `template` with `data` and send it to `to`.

    At least once, so at most a duplicate: SMTP has no idempotency key, and a worker that dies
    after the server accepted the message but before the job is marked done sends it again.
    The Message-ID is derived from the arguments, so the copy carries the same one and
    receivers can drop it (the outbox simply rewrites the same file).
    """
    settings = ctx.settings
    text, html = templates.render(template, data | {"subject": subject})
    message = compose(
        sender=settings.mail_from, to=to, subject=subject, text=text, html=html,
        message_id=stable_message_id([to, subject, template, data], sender=settings.mail_from))
    await mailer_for(settings).send(message)


@job("event-reminders", queue="email")
async def send_event_reminders(ctx: JobContext, *, event_id: int, starts_at: str) -> None:
    """Queue one reminder per person going who has not had one for this start time."""
    starts = datetime.fromisoformat(starts_at)
    while True:
        async with ctx.transaction() as session:
            event = await events_repository.by_id(session, event_id)
            if not _still_due(event, starts):
                return
            recipients = await repository.claim_reminders(
                session, event_id=event_id, starts_at=starts, limit=REMINDER_BATCH)
            await enqueue_many(session, "send-email",
                               [_reminder(event, recipient) for recipient in recipients])
        if len(recipients) < REMINDER_BATCH:
            return


def _still_due(event: Event | None, starts: datetime) -> bool:
    """False for an event deleted, cancelled or begun, and for one moved to another time (the
    move scheduled a job of its own)."""
    return (event is not None and event.cancelled_at is None and event.starts_at == starts
            and event.starts_at > datetime.now(UTC))


def _reminder(event: Event, recipient: Recipient) -> dict:
    """The send-email arguments of one attendee's reminder."""
    local = event.starts_at.astimezone(ZoneInfo(event.timezone))
    when = f"{local:%A} {local.day} {local:%B %Y, %H:%M}"
    return {
        "to": recipient.email,
        "subject": f"Reminder: {event.title}, {when}",
        "template": "event_reminder",
        "data": {
            "event_id": event.id, "starts_at": reminder_key(event.starts_at),
            "user_id": recipient.user_id, "name": recipient.display_name or recipient.username,
            "title": event.title, "when": when, "timezone": event.timezone,
            "venue": event.venue, "city": event.city,
        },
    }
