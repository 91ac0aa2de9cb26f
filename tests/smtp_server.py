"""A real SMTP server (aiosmtpd) on a free loopback port, which keeps what it receives."""

from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.redis_server import free_port

USERNAME = "mailer"
PASSWORD = "relay-secret"


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage

    def subject(self) -> str:
        """As mail clients show it: a subject folded onto its second line keeps, read back by
        Python, the space that began that line."""
        return self.message["Subject"].strip()

    def text(self) -> str:
        return body(self.message, "plain")

    def html(self) -> str:
        return body(self.message, "html")


def body(message: EmailMessage, subtype: str) -> str:
    """A decoded body part, with the wire's CRLF line endings read back as newlines."""
    return message.get_body((subtype,)).get_content().replace("\r\n", "\n")


@dataclass
class SmtpServer:
    """Accepts every message to recipients not in `refusals`; accepts AUTH with USERNAME/PASSWORD only (over plain text, as a
    loopback test may)."""

    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    received: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    # Recipient address -> the reply to its RCPT, for refusals ("550 5.1.1 No such user").
    refusals: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(self, server, session, envelope, address: str, options) -> str:
        if address in self.refusals:
            return self.refusals[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                      message_from_bytes(envelope.content, policy=default)))
        return "250 Message accepted for delivery"

    def authenticate(self, server, session, envelope, mechanism: str, auth_data) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode()
        if (login, auth_data.password.decode()) != (USERNAME, PASSWORD):
            return AuthResult(success=False, handled=False)
        self.logins.append(login)
        return AuthResult(success=True)


@pytest.fixture(name="smtp_server")
def smtp_server_fixture():
    server = SmtpServer()
    controller = Controller(server, hostname=server.host, port=server.port,
                            authenticator=server.authenticate, auth_require_tls=False)
    controller.start()
    yield server
    controller.stop()
