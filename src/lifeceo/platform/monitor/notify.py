"""Telling people what the monitor found and did: each notice (an incident opened, reopened,
mitigated, escalated or resolved; an action awaiting approval) becomes one job per webhook URL
and per alert address, written in the evaluation's transaction, so that a notice exists if and
only if what it tells of was committed, and a slow receiver is the queue's problem, not the
evaluation's."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.platform.monitor.models import MonitorIncident
from lifeceo.platform.monitor.schemas import Incident
from lifeceo.platform.queue import enqueue_many
from lifeceo.settings import Settings

OPENED, REOPENED, MITIGATED, ESCALATED, RESOLVED = (
    "opened", "reopened", "mitigated", "escalated", "resolved")
AWAITING_APPROVAL = "awaiting_approval"
WEBHOOK_JOB, EMAIL_JOB = "monitor-webhook", "monitor-email"


@dataclass(frozen=True)
class Notice:
    incident_id: int
    event: str
    detail: dict[str, Any] = field(default_factory=dict)


def targets(value: str) -> list[str]:
    """A comma-separated setting's entries."""
    return [entry.strip() for entry in value.split(",") if entry.strip()]


async def send(session: AsyncSession, notices: list[Notice], *, settings: Settings,
               now: datetime) -> int:
    """Queue every notice to every receiver in `session`'s transaction; the jobs written."""
    urls, addresses = targets(settings.monitor_webhook_urls), targets(
        settings.monitor_alert_emails)
    if not notices or not (urls or addresses):
        return 0
    payloads = []
    for notice in notices:
        row = await session.get(MonitorIncident, notice.incident_id, populate_existing=True)
        payloads.append({"event": notice.event, "at": now.isoformat(),
                         "incident": Incident.model_validate(row).model_dump(mode="json"),
                         "detail": notice.detail})
    # Never inline (which the bullmq-jobs flag selects while it is off): the evaluation's
    # commit must not wait for a receiver's answer or its retries.
    await enqueue_many(session, WEBHOOK_JOB, [
        {"url": url, "payload": payload} for payload in payloads for url in urls], inline=False)
    await enqueue_many(session, EMAIL_JOB, [
        {"to": address, "payload": payload} for payload in payloads for address in addresses],
        inline=False)
    return len(payloads) * (len(urls) + len(addresses))
