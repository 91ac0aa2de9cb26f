"""Sending through an SMTP server with aiosmtplib, one connection per message."""

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

import aiosmtplib

from lifeceo.platform.observability.outgoing import OUTGOING
from lifeceo.platform.queue.queues import PermanentFailure
from lifeceo.settings import Settings

Security = Literal["starttls", "tls", "none"]


@dataclass(frozen=True)
class SmtpMailer:
    host: str
    port: int
    security: Security
    username: str | None
    password: str | None
    timeout_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> "SmtpMailer":
        password = settings.mail_smtp_password
        return cls(host=settings.mail_smtp_host, port=settings.mail_smtp_port,
                   security=settings.mail_smtp_security, username=settings.mail_smtp_username,
                   password=password.get_secret_value() if password is not None else None,
                   timeout_seconds=settings.mail_smtp_timeout_seconds)

    async def send(self, message: EmailMessage) -> None:
        """Hand the message to the server. A permanent refusal of the message itself (5xx to
        RCPT or DATA: no such mailbox, content rejected) raises PermanentFailure, since the same
        message would be refused again; anything else (a connection failure, a 4xx, a refused
        login, which is the configuration's fault) raises for a retry."""
        # "starttls" requires the upgrade: never send credentials or mail in the clear because
        # the server stopped offering it.
        try:
            async with OUTGOING.timed("smtp"):
                await aiosmtplib.send(
                    message, hostname=self.host, port=self.port, username=self.username,
                    password=self.password, use_tls=self.security == "tls",
                    start_tls=self.security == "starttls", timeout=self.timeout_seconds)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            if all(_permanent(refused.code) for refused in exc.recipients):
                raise PermanentFailure(str(exc)) from exc
            raise
        except aiosmtplib.SMTPDataError as exc:
            if _permanent(exc.code):
                raise PermanentFailure(f"{exc.code} {exc.message}") from exc
            raise


def _permanent(code: int) -> bool:
    """RFC 5321: 5yz replies are permanent, 4yz transient."""
    return 500 <= code < 600
