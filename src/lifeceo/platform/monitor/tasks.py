"""Jobs of the monitor: delivering its notices (lifeceo.platform.monitor.notify), a signed JSON
POST to a webhook, a text+HTML message to an alert address; and deleting what is past its
retention."""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.platform.mail import Templates, compose, mailer_for, stable_message_id
from lifeceo.platform.monitor import repository
from lifeceo.platform.monitor.notify import EMAIL_JOB, WEBHOOK_JOB
from lifeceo.platform.observability.outgoing import OUTGOING
from lifeceo.platform.queue import JobContext, PermanentFailure, job
from lifeceo.settings import Settings

log = structlog.get_logger(__name__)

templates = Templates(Path(__file__).parent / "templates")
# GitHub's convention: "sha256=" and the hex HMAC of the exact body under the shared secret.
SIGNATURE_HEADER = "X-Lifeceo-Signature-256"
EVENT_HEADER = "X-Lifeceo-Event"
DELIVERY_HEADER = "X-Lifeceo-Delivery"
HEADLINES = {
    "opened": "Incident opened", "reopened": "Incident reopened",
    "mitigated": "Incident mitigated", "escalated": "Incident escalated: an action did not help",
    "resolved": "Incident resolved", "awaiting_approval": "An action awaits your approval"}


def signature(body: bytes, *, key: str) -> str:
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def delivery_id(payload: dict) -> str:
    """The same for a retried delivery of one notice: a receiver may drop the copy."""
    identity = [payload["incident"]["id"], payload["event"], payload["at"], payload["detail"]]
    return hashlib.sha256(orjson.dumps(identity, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


@job(WEBHOOK_JOB, queue="notifications")
async def post_webhook(ctx: JobContext, *, url: str, payload: dict) -> None:
    """A 2xx delivers; a timeout, 408, 429 or 5xx is retried by the queue; any other answer
    would be the same next time (a wrong URL, a refused signature)."""
    settings = ctx.settings
    body = orjson.dumps(payload)
    headers = {"Content-Type": "application/json", EVENT_HEADER: payload["event"],
               DELIVERY_HEADER: delivery_id(payload),
               SIGNATURE_HEADER: signature(body, key=settings.resolved_secret_key())}
    async with httpx.AsyncClient(timeout=settings.monitor_webhook_timeout_seconds) as client:
        async with OUTGOING.timed("webhook"):
            response = await client.post(url, content=body, headers=headers)
    if response.is_success:
        return
    if response.status_code < 500 and response.status_code not in (408, 429):
        raise PermanentFailure(f"webhook {url} answered {response.status_code}")
    response.raise_for_status()


@job(EMAIL_JOB, queue="email")
async def send_alert(ctx: JobContext, *, to: str, payload: dict) -> None:
    """At most a duplicate, recognisable by its Message-ID, as community e-mail is."""
    settings = ctx.settings
    incident = payload["incident"]
    headline = HEADLINES.get(payload["event"], payload["event"])
    text, html = templates.render("incident", {**payload, "headline": headline})
    message = compose(
        sender=settings.mail_from, to=to,
        subject=f"[{incident['severity']}] {headline}: {incident['summary']}"[:200],
        text=text, html=html,
        message_id=stable_message_id([to, delivery_id(payload)], sender=settings.mail_from))
    await mailer_for(settings).send(message)


@job("monitor-expire", queue="data-sync")
async def monitor_expire(ctx: JobContext) -> None:
    async with ctx.transaction() as session:
        deleted = await expire(session, settings=ctx.settings, now=datetime.now(UTC))
    log.info("old monitor incidents and actions deleted", **deleted)


async def expire(session: AsyncSession, *, settings: Settings, now: datetime) -> dict[str, int]:
    return await repository.expire(
        session, before=now - timedelta(days=settings.monitor_retention_days))
