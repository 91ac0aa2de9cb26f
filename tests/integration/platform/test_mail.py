"""Sending for real: to an SMTP server that records what arrives, and to the outbox directory."""

from email import message_from_bytes
from email.policy import default
from pathlib import Path

import aiosmtplib
import pytest
from jinja2 import UndefinedError
from tests.redis_server import free_port
from tests.smtp_server import PASSWORD, USERNAME, body, smtp_server_fixture  # noqa: F401

from lifeceo.platform.mail import (
    OutboxMailer,
    SmtpMailer,
    Templates,
    compose,
    mailer_for,
    stable_message_id,
)
from lifeceo.platform.queue import PermanentFailure
from lifeceo.settings import Settings

SENDER = "lifeceo <noreply@lifeceo.example>"


def message(**overrides):
    fields = {"sender": SENDER, "to": "ana@example.org", "subject": "Milonga tonight",
              "text": "Doors at 21:00 — bring shoes.\n",
              "html": "<p>Doors at 21:00 &mdash; bring shoes.</p>\n",
              "message_id": stable_message_id(["milonga", 1], sender=SENDER)}
    return compose(**fields | overrides)


def smtp_mailer(port: int, **overrides) -> SmtpMailer:
    fields = {"host": "127.0.0.1", "port": port, "security": "none", "username": None,
              "password": None, "timeout_seconds": 5.0}
    return SmtpMailer(**fields | overrides)


async def test_smtp_delivers_text_and_html_parts(smtp_server):
    sent = message()
    await smtp_mailer(smtp_server.port).send(sent)

    [received] = smtp_server.received
    assert received.sender == "noreply@lifeceo.example"
    assert received.recipients == ["ana@example.org"]
    assert received.subject() == "Milonga tonight"
    assert received.message["Message-ID"] == sent["Message-ID"]
    assert received.message.get_content_type() == "multipart/alternative"
    assert received.text() == "Doors at 21:00 — bring shoes.\n"
    assert received.html() == "<p>Doors at 21:00 &mdash; bring shoes.</p>\n"


async def test_smtp_logs_in_with_the_configured_credentials(smtp_server):
    await smtp_mailer(smtp_server.port, username=USERNAME, password=PASSWORD).send(message())
    assert smtp_server.logins == [USERNAME]
    assert len(smtp_server.received) == 1

    with pytest.raises(aiosmtplib.SMTPAuthenticationError):
        await smtp_mailer(smtp_server.port, username=USERNAME, password="wrong").send(message())
    assert len(smtp_server.received) == 1


async def test_starttls_is_required_not_hoped_for(smtp_server):
    """The test server offers no STARTTLS: a mailer told to use it refuses to send in clear."""
    with pytest.raises(aiosmtplib.SMTPException, match="(?i)starttls"):
        await smtp_mailer(smtp_server.port, security="starttls").send(message())
    assert smtp_server.received == []


async def test_a_refused_mailbox_is_permanent_and_a_busy_one_is_not(smtp_server):
    smtp_server.refusals = {"gone@example.org": "550 5.1.1 No such user",
                            "busy@example.org": "451 4.2.0 Mailbox busy, try later"}
    with pytest.raises(PermanentFailure, match="No such user"):
        await smtp_mailer(smtp_server.port).send(message(to="gone@example.org"))
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await smtp_mailer(smtp_server.port).send(message(to="busy@example.org"))
    assert not isinstance(refused.value, PermanentFailure)
    assert smtp_server.received == []


async def test_an_unreachable_server_raises():
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await smtp_mailer(free_port()).send(message())


async def test_outbox_writes_each_message_once_and_atomically(tmp_path: Path):
    outbox = OutboxMailer(tmp_path / "outbox")
    first = message()
    await outbox.send(first)
    await outbox.send(message())  # the same Message-ID: a retried job rewrites the same file
    await outbox.send(message(message_id=stable_message_id(["milonga", 2], sender=SENDER)))

    files = sorted((tmp_path / "outbox").iterdir())
    assert [path.suffix for path in files] == [".eml", ".eml"]
    assert outbox.path_of(first) in files
    stored = message_from_bytes(outbox.path_of(first).read_bytes(), policy=default)
    assert stored["To"] == "ana@example.org"
    assert stored["Message-ID"] == first["Message-ID"]
    assert body(stored, "plain") == "Doors at 21:00 — bring shoes.\n"


def test_settings_choose_smtp_or_the_outbox(tmp_path: Path):
    outbox = mailer_for(Settings(data_dir=tmp_path))
    assert isinstance(outbox, OutboxMailer)
    assert outbox.directory == tmp_path / "outbox"

    smtp = mailer_for(Settings(mail_smtp_host="mail.example", mail_smtp_port=465,
                               mail_smtp_security="tls", mail_smtp_username="u",
                               mail_smtp_password="p", mail_smtp_timeout_seconds=7))
    assert smtp == SmtpMailer(host="mail.example", port=465, security="tls", username="u",
                              password="p", timeout_seconds=7)


def test_message_ids_are_stable_per_identity():
    first = stable_message_id({"to": "a@example.org", "data": {"x": 1, "y": 2}}, sender=SENDER)
    again = stable_message_id({"data": {"y": 2, "x": 1}, "to": "a@example.org"}, sender=SENDER)
    other = stable_message_id({"to": "b@example.org", "data": {"x": 1, "y": 2}}, sender=SENDER)
    assert first == again != other
    assert first.startswith("<") and first.endswith("@lifeceo.example>")
    assert stable_message_id([1], sender="nobody").endswith("@lifeceo.invalid>")


def test_a_subject_with_line_breaks_stays_one_header():
    sent = message(subject="Milonga\r\nBcc: victim@example.org")
    assert sent["Subject"] == "Milonga Bcc: victim@example.org"
    assert sent["Bcc"] is None


def test_templates_escape_html_only(tmp_path: Path):
    (tmp_path / "note.txt").write_text("Hi {{ name }}\n")
    (tmp_path / "note.html").write_text("<p>Hi {{ name }}</p>\n")
    text, html = Templates(tmp_path).render("note", {"name": "<b>R&B</b>"})
    assert text == "Hi <b>R&B</b>\n"
    assert html == "<p>Hi &lt;b&gt;R&amp;B&lt;/b&gt;</p>\n"

    with pytest.raises(UndefinedError):
        Templates(tmp_path).render("note", {})
