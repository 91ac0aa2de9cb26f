"""Outgoing mail: templated messages with text and HTML parts, sent over SMTP or, with no SMTP
server configured, written to an outbox directory."""

from email.message import EmailMessage
from typing import Protocol

from lifeceo.platform.mail.message import compose, stable_message_id
from lifeceo.platform.mail.outbox import OutboxMailer
from lifeceo.platform.mail.smtp import SmtpMailer
from lifeceo.platform.mail.templates import Templates
from lifeceo.settings import Settings

__all__ = ["Mailer", "OutboxMailer", "SmtpMailer", "Templates", "compose", "mailer_for",
           "stable_message_id"]


class Mailer(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Deliver the message, or raise."""


def mailer_for(settings: Settings) -> Mailer:
    """The SMTP server the settings name, or else the outbox in the data directory."""
    if settings.mail_smtp_host:
        return SmtpMailer.from_settings(settings)
    return OutboxMailer(settings.mail_outbox_dir)
