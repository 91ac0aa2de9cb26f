"""Building a message: headers, a plain-text part and its HTML alternative."""

import hashlib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr

import orjson

# For a sender address without a domain, so that the Message-ID is still well formed (RFC 5322).
FALLBACK_DOMAIN = "lifeceo.invalid"


def stable_message_id(identity: object, *, sender: str) -> str:
    """The same Message-ID for the same JSON-serialisable identity: a message sent twice (SMTP
    has no idempotency) can be recognised as one by whoever receives it."""
    digest = hashlib.sha256(orjson.dumps(identity, option=orjson.OPT_SORT_KEYS)).hexdigest()
    _, at, domain = parseaddr(sender)[1].rpartition("@")
    return f"<{digest[:40]}@{domain if at and domain else FALLBACK_DOMAIN}>"


def compose(*, sender: str, to: str, subject: str, text: str, html: str,
            message_id: str) -> EmailMessage:
    # The SMTP policy writes CRLF line endings and refuses header values with line breaks.
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = to
    # User-supplied text (an event title) may hold line breaks: a header is one line.
    message["Subject"] = " ".join(subject.split())
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = message_id
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message
