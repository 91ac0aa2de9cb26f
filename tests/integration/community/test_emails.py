"""The community's messages, received by a real SMTP server: welcome on registration, reminders
to those going to an event."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default

import aiosmtplib
import pytest
from sqlalchemy import func, select, text
from tests import factories
from tests.redis_server import free_port
from tests.smtp_server import smtp_server_fixture  # noqa: F401

from lifeceo.community.emails import tasks
from lifeceo.community.emails.models import EventReminder
from lifeceo.community.emails.service import reminder_key
from lifeceo.community.emails.tasks import send_email, send_event_reminders
from lifeceo.platform.queue import JobContext

EVENTS = "/api/v1/events"
STARTS_AT = "2099-03-01T21:00:00-03:00"
WHEN = "Sunday 1 March 2099, 21:00"


@pytest.fixture
def settings(app):
    return app.state.settings


@pytest.fixture
def mail_via_smtp(settings, smtp_server, monkeypatch):
    """Every message of the test, whichever process part sends it, goes to smtp_server."""
    monkeypatch.setattr(settings, "mail_smtp_host", smtp_server.host)
    monkeypatch.setattr(settings, "mail_smtp_port", smtp_server.port)
    monkeypatch.setattr(settings, "mail_smtp_security", "none")
    return smtp_server


class Queue:
    """The queue as a worker finds it: jobs enqueued inside `waiting()` are written and left
    there, as before their time, instead of running inline."""

    def __init__(self, app, settings, monkeypatch, after_id: int) -> None:
        self.app, self.settings, self.monkeypatch = app, settings, monkeypatch
        self.after_id = after_id

    @contextmanager
    def waiting(self) -> Iterator[None]:
        with self.monkeypatch.context() as patch:
            patch.setattr(self.settings, "jobs_inline", False)
            yield

    async def jobs(self, name: str) -> list:
        async with self.app.state.engine.connect() as connection:
            return list(await connection.execute(text(
                "SELECT queue_name, args, lock, queueing_lock, scheduled_at"
                " FROM procrastinate_jobs WHERE id > :after AND task_name = :name ORDER BY id"),
                {"after": self.after_id, "name": name}))


@pytest.fixture
async def queue(app, settings, monkeypatch):
    async with app.state.engine.begin() as connection:
        after_id = await connection.scalar(
            text("SELECT coalesce(max(id), 0) FROM procrastinate_jobs"))
    yield Queue(app, settings, monkeypatch, after_id)
    # No worker of another test should find them.
    async with app.state.engine.begin() as connection:
        await connection.execute(text("DELETE FROM procrastinate_jobs WHERE id > :after"),
                                 {"after": after_id})


@pytest.fixture
def ctx(app, settings) -> JobContext:
    return JobContext(settings=settings, sessionmaker=app.state.sessionmaker,
                      cache=app.state.cache, engine=app.state.engine)


async def create_event(client, headers, **overrides) -> dict:
    body = {"title": "Milonga del Sur", "city": "Buenos Aires", "venue": "Club Sunderland",
            "starts_at": STARTS_AT, "ends_at": "2099-03-02T03:00:00-03:00",
            "timezone": "America/Argentina/Buenos_Aires"} | overrides
    response = await client.post(EVENTS, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def rsvp(client, headers, event: dict, status: str = "going") -> None:
    response = await client.post(f"{EVENTS}/{event['id']}/rsvp", json={"status": status},
                                 headers=headers)
    assert response.status_code == 200, response.text


async def remind(ctx, event: dict, starts_at: str | None = None) -> None:
    starts = datetime.fromisoformat(starts_at or event["starts_at"])
    await send_event_reminders(ctx, event_id=event["id"], starts_at=reminder_key(starts))


def addressees(server) -> list[str]:
    return sorted(recipient for received in server.received for recipient in received.recipients)


async def test_registration_sends_a_welcome_email(client, mail_via_smtp):
    await factories.user(client, "ana")

    [welcome] = mail_via_smtp.received
    assert welcome.recipients == ["ana@example.org"]
    assert welcome.message["To"] == "ana@example.org"
    assert welcome.subject() == "Welcome to lifeceo"
    assert welcome.text().startswith("Welcome to lifeceo, ana!\n")
    assert "<h1 style=\"font-size:1.4em\">Welcome to lifeceo, ana!</h1>" in welcome.html()


async def test_a_refused_registration_sends_nothing(client, mail_via_smtp):
    await factories.user(client, "ana")
    response = await client.post("/api/v1/auth/register", json={
        "username": "ANA", "email": "other@example.org", "password": factories.PASSWORD})
    assert response.status_code == 409
    assert addressees(mail_via_smtp) == ["ana@example.org"]


async def test_without_an_smtp_server_messages_land_in_the_outbox(client, settings):
    outbox = settings.mail_outbox_dir
    before = set(outbox.glob("*.eml"))
    await factories.user(client, "bea")

    [path] = set(outbox.glob("*.eml")) - before
    message = message_from_bytes(path.read_bytes(), policy=default)
    assert message["To"] == "bea@example.org"
    assert message["Subject"] == "Welcome to lifeceo"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain",
                                                                          "text/html"]
    assert not list(outbox.glob(".tmp-*"))


async def test_an_unreachable_server_fails_the_job_for_a_retry(ctx, settings, mail_via_smtp,
                                                              monkeypatch):
    monkeypatch.setattr(settings, "mail_smtp_port", free_port())
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await send_email(ctx, to="ana@example.org", subject="Welcome to lifeceo",
                         template="welcome", data={"user_id": 1, "username": "ana"})


async def test_a_repeated_job_repeats_its_message_id(ctx, mail_via_smtp):
    """SMTP cannot refuse a duplicate; the receiver can recognise one."""
    arguments = {"to": "ana@example.org", "subject": "Welcome to lifeceo", "template": "welcome",
                 "data": {"user_id": 1, "username": "ana"}}
    await send_email(ctx, **arguments)
    await send_email(ctx, **arguments)
    await send_email(ctx, **arguments | {"data": {"user_id": 2, "username": "ana"}})

    first, again, other = (received.message["Message-ID"] for received in mail_via_smtp.received)
    assert first == again != other


async def test_reminders_reach_those_going_once_with_names_escaped(client, ctx, session,
                                                                   mail_via_smtp):
    organizer = await factories.user(client, "organizer")
    ana = await factories.user(client, "ana", display_name='Ana <b>"la rubia"</b> & co')
    bea = await factories.user(client, "bea")
    cid = await factories.user(client, "cid")
    event = await create_event(client, organizer, title="Milonga <del>del</del> Sol & Luna",
                               venue="Club <Sunderland>")
    mail_via_smtp.received.clear()
    # Inline, each RSVP's reminder job runs at once rather than a day before the event.
    await rsvp(client, ana, event)
    await rsvp(client, bea, event)
    await rsvp(client, cid, event, "interested")

    assert addressees(mail_via_smtp) == ["ana@example.org", "bea@example.org"]
    [to_ana] = [received for received in mail_via_smtp.received
                if received.recipients == ["ana@example.org"]]
    assert to_ana.subject() == f"Reminder: Milonga <del>del</del> Sol & Luna, {WHEN}"
    assert to_ana.text().startswith(
        'Hi Ana <b>"la rubia"</b> & co,\n\n'
        f"Milonga <del>del</del> Sol & Luna starts {WHEN} "
        "(America/Argentina/Buenos_Aires time).\n"
        "Where: Club <Sunderland>, Buenos Aires\n")
    html = to_ana.html()
    assert "<p>Hi Ana &lt;b&gt;&#34;la rubia&#34;&lt;/b&gt; &amp; co,</p>" in html
    assert "<strong>Milonga &lt;del&gt;del&lt;/del&gt; Sol &amp; Luna</strong>" in html
    assert "Where: Club &lt;Sunderland&gt;, Buenos Aires" in html
    assert "<b>" not in html and "<del>" not in html

    # A rerun (a retry, the job of a later RSVP) reminds nobody twice.
    await remind(ctx, event)
    await rsvp(client, cid, event, "going")
    assert addressees(mail_via_smtp) == ["ana@example.org", "bea@example.org",
                                         "cid@example.org"]
    assert await session.scalar(select(func.count()).select_from(EventReminder)) == 3


async def test_reminders_are_claimed_in_batches(client, ctx, queue, session, mail_via_smtp,
                                               monkeypatch):
    organizer = await factories.user(client, "organizer")
    attendees = [await factories.user(client, name) for name in ("ana", "bea", "cid")]
    with queue.waiting():
        event = await create_event(client, organizer)
        for headers in attendees:
            await rsvp(client, headers, event)
    mail_via_smtp.received.clear()
    monkeypatch.setattr(tasks, "REMINDER_BATCH", 2)

    await remind(ctx, event)
    assert addressees(mail_via_smtp) == ["ana@example.org", "bea@example.org",
                                         "cid@example.org"]
    assert await session.scalar(select(func.count()).select_from(EventReminder)) == 3


async def test_no_reminders_for_a_cancelled_event(client, ctx, queue, mail_via_smtp):
    organizer = await factories.user(client, "organizer")
    ana = await factories.user(client, "ana")
    with queue.waiting():
        event = await create_event(client, organizer)
        await rsvp(client, ana, event)
        response = await client.post(f"{EVENTS}/{event['id']}/cancel", headers=organizer)
        assert response.status_code == 200
    mail_via_smtp.received.clear()

    await remind(ctx, event)
    assert mail_via_smtp.received == []


async def test_a_moved_event_is_reminded_of_its_new_time_only(client, ctx, queue,
                                                              mail_via_smtp):
    organizer = await factories.user(client, "organizer")
    ana = await factories.user(client, "ana")
    with queue.waiting():
        event = await create_event(client, organizer)
        await rsvp(client, ana, event)
        response = await client.patch(f"{EVENTS}/{event['id']}", headers=organizer, json={
            "starts_at": "2099-03-08T21:00:00-03:00", "ends_at": "2099-03-09T03:00:00-03:00"})
        assert response.status_code == 200
    mail_via_smtp.received.clear()

    await remind(ctx, event, STARTS_AT)
    assert mail_via_smtp.received == []
    await remind(ctx, event, "2099-03-08T21:00:00-03:00")
    [reminder] = mail_via_smtp.received
    assert reminder.recipients == ["ana@example.org"]
    assert "Sunday 8 March 2099, 21:00" in reminder.subject()


async def test_no_reminders_once_the_event_has_begun(client, ctx, mail_via_smtp):
    organizer = await factories.user(client, "organizer")
    ana = await factories.user(client, "ana")
    now = datetime.now(UTC).replace(microsecond=0)
    event = await create_event(client, organizer, starts_at=(now - timedelta(hours=1)).isoformat(),
                               ends_at=(now + timedelta(hours=3)).isoformat())
    await rsvp(client, ana, event)
    mail_via_smtp.received.clear()

    await remind(ctx, event)
    assert mail_via_smtp.received == []


async def test_reminders_are_scheduled_a_day_before_once_per_start_time(client, queue):
    organizer = await factories.user(client, "organizer")
    ana = await factories.user(client, "ana")
    bea = await factories.user(client, "bea")
    with queue.waiting():
        event = await create_event(client, organizer)
        await rsvp(client, ana, event)  # the job created with the event is still waiting
        await rsvp(client, bea, event, "interested")
        moved = "2099-03-08T21:00:00-03:00"
        response = await client.patch(f"{EVENTS}/{event['id']}", headers=organizer,
                                      json={"starts_at": moved, "ends_at": "2099-03-09T03:00:00Z"})
        assert response.status_code == 200
        await rsvp(client, bea, event)

    jobs = await queue.jobs("event-reminders")
    assert [(job.args, job.scheduled_at, job.queueing_lock, job.lock) for job in jobs] == [
        ({"event_id": event["id"], "starts_at": key}, starts - timedelta(hours=24),
         f"event-reminders:{event['id']}:{key}", f"event-reminders:{event['id']}")
        for starts in (datetime.fromisoformat(STARTS_AT), datetime.fromisoformat(moved))
        for key in [reminder_key(starts)]]
    assert all(job.queue_name == "email" for job in jobs)


async def test_a_reminder_due_already_is_not_delayed(client, queue):
    organizer = await factories.user(client, "organizer")
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    with queue.waiting():
        event = await create_event(client, organizer, starts_at=soon.isoformat(),
                                   ends_at=(soon + timedelta(hours=4)).isoformat())
    [job] = await queue.jobs("event-reminders")
    assert job.args == {"event_id": event["id"], "starts_at": reminder_key(soon)}
    assert job.scheduled_at is None


async def test_registration_queues_the_welcome_in_its_transaction(client, queue):
    with queue.waiting():
        await factories.user(client, "ana")
        response = await client.post("/api/v1/auth/register", json={
            "username": "ana", "email": "other@example.org", "password": factories.PASSWORD})
        assert response.status_code == 409

    [job] = await queue.jobs("send-email")
    assert job.queue_name == "email"
    assert job.args == {"to": "ana@example.org", "subject": "Welcome to lifeceo",
                        "template": "welcome", "data": {"user_id": 1, "username": "ana"}}
