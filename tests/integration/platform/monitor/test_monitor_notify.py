"""Incident notifications from the real application: each notice is a job written in the
evaluation's transaction (the evaluation waits for no receiver), delivered to a real local HTTP
receiver as a signed JSON POST and to the real SMTP test server as a text+HTML message."""

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy import text
from tests.integration.platform.monitor.test_monitor_actions import latency, monitors  # noqa: F401
from tests.integration.platform.monitor.test_monitor_api import (
    MIB,
    Clock,
    interval_now,
    write_points,
)
from tests.serving import free_port
from tests.smtp_server import smtp_server_fixture  # noqa: F401

from lifeceo.platform.monitor import tasks
from lifeceo.platform.queue import JobContext, PermanentFailure


class Receiver:
    """A webhook receiver on a free loopback port: keeps each POST, answers `status` (and waits
    `delay_seconds` first)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status, self.delay_seconds = 204, 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.delay_seconds)
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/lifeceo"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def payloads(self) -> list[dict]:
        return [json.loads(body) for _, body in self.received]


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.server.shutdown()
    made.server.server_close()


@pytest.fixture
async def jobs(app, queued):
    """The monitor's notification jobs written during the test (through PostgreSQL, as in
    production, not inline as the suite runs jobs), deleted afterwards."""
    async with app.state.engine.begin() as connection:
        after = await connection.scalar(text("SELECT coalesce(max(id), 0) FROM procrastinate_jobs"))

    async def written() -> list[tuple[str, str, dict]]:
        async with app.state.engine.connect() as connection:
            rows = await connection.execute(text(
                "SELECT task_name, queue_name, args FROM procrastinate_jobs WHERE id > :after"
                " AND task_name LIKE 'monitor-%' AND status = 'todo' ORDER BY id"),
                {"after": after})
            return [tuple(row) for row in rows]

    yield written
    async with app.state.engine.begin() as connection:
        await connection.execute(text("DELETE FROM procrastinate_jobs WHERE id > :after"),
                                 {"after": after})


def context(app, settings) -> JobContext:
    return JobContext(settings=settings, sessionmaker=app.state.sessionmaker,
                      cache=app.state.cache, engine=app.state.engine)


async def deliver(app, settings, written) -> None:
    """What a worker does with each job: run its handler with its arguments."""
    for name, _, args in written:
        handler = tasks.post_webhook if name == tasks.WEBHOOK_JOB else tasks.send_alert
        await handler(context(app, settings),
                      **{key: args[key] for key in ("url", "to", "payload") if key in args})


def notifying(receiver, smtp_server) -> dict:
    return {"monitor_webhook_urls": f" {receiver.url} ,", "monitor_alert_emails":
            "ops@example.org", "mail_smtp_host": smtp_server.host,
            "mail_smtp_port": smtp_server.port, "mail_smtp_security": "none"}


async def test_opened_and_mitigated_incidents_are_posted_signed_and_mailed(
        app, monitors, receiver, smtp_server, jobs):  # noqa: F811
    now = interval_now()
    await write_points(app, "http_latency_p95_seconds", "search", latency(now, 0.5, count=30))
    clock = Clock(now + timedelta(seconds=1))
    monitor = monitors(clock, **notifying(receiver, smtp_server))
    first = await monitor.lead()
    # Queued, not delivered: the evaluation waited for no receiver.
    assert first.notified == 2 and receiver.received == [] and smtp_server.received == []
    written = await jobs()
    assert [(name, queue) for name, queue, _ in written] == [
        ("monitor-webhook", "notifications"), ("monitor-email", "email")]

    await deliver(app, monitor.settings, written)
    [(headers, body)] = receiver.received
    key = monitor.settings.resolved_secret_key().encode()
    assert headers["X-Lifeceo-Signature-256"] == (
        "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest())
    assert (headers["Content-Type"], headers["X-Lifeceo-Event"]) == ("application/json",
                                                                     "opened")
    [opened] = receiver.payloads()
    assert opened["incident"]["fingerprint"] == "slow_api_response:search"
    assert (opened["incident"]["state"], opened["event"]) == ("open", "opened")
    [mail] = smtp_server.received
    assert mail.recipients == ["ops@example.org"]
    assert mail.subject().startswith("[warning] Incident opened: p95 of search above 200 ms")
    assert "Incident {}: slow_api_response:search".format(opened["incident"]["id"]) in mail.text()
    assert "<code>slow_api_response:search</code>" in mail.html()

    # Search is fast again: the shed is verified and the incident mitigated, which is told too.
    later = now + timedelta(seconds=70)
    await write_points(app, "http_latency_p95_seconds", "search", latency(later, 0.05, count=7))
    clock.now = later + timedelta(seconds=1)
    second = await monitor.lead()
    assert "mitigated" in second.actions and second.notified == 2
    await deliver(app, monitor.settings, (await jobs())[2:])
    mitigated = receiver.payloads()[1]
    assert (mitigated["event"], mitigated["incident"]["state"]) == ("mitigated", "mitigated")
    assert mitigated["detail"] == {"action": "shed", "target": "search"}
    assert receiver.received[1][0]["X-Lifeceo-Delivery"] != receiver.received[0][0][
        "X-Lifeceo-Delivery"]
    assert smtp_server.received[1].subject().startswith("[warning] Incident mitigated")


async def test_an_action_awaiting_approval_is_told_with_how_to_decide(
        app, monitors, receiver, smtp_server, jobs):  # noqa: F811
    now = interval_now()
    await write_points(app, "process_rss_bytes", "max", [
        (now - timedelta(seconds=10 * (29 - i)), (500 + 10 * i) * MIB, 2) for i in range(30)])
    monitor = monitors(Clock(now + timedelta(seconds=1)), **notifying(receiver, smtp_server))
    [waiting] = (await monitor.lead()).actions["awaiting_approval"]
    await deliver(app, monitor.settings, await jobs())
    assert [p["event"] for p in receiver.payloads()] == ["opened", "awaiting_approval"]
    assert receiver.payloads()[1]["detail"] == {
        "action_id": waiting, "action": "recycle_worker", "lever": "recycle", "target": "any",
        "value": "graceful"}
    approval = smtp_server.received[1]
    assert approval.subject().startswith("[critical] An action awaits your approval")
    assert f"lifeceo monitor approve {waiting}" in approval.text()


async def test_no_receivers_no_jobs(app, monitors, jobs):  # noqa: F811
    now = interval_now()
    await write_points(app, "http_latency_p95_seconds", "feed", latency(now, 0.5, count=30))
    outcome = await monitors(Clock(now + timedelta(seconds=1))).lead()
    assert outcome.opened and outcome.notified == 0
    assert await jobs() == []


async def test_a_failing_receiver_is_retried_and_a_refusing_one_is_not(app, receiver):
    settings = app.state.settings.model_copy(update={"monitor_webhook_timeout_seconds": 0.5})
    payload = {"event": "opened", "at": "2026-01-01T00:00:00+00:00", "detail": {},
               "incident": {"id": 1, "severity": "warning", "summary": "x"}}
    ctx = context(app, settings)
    # A 5xx and a timeout raise for the queue's retry; a 4xx would be refused again.
    receiver.status = 503
    with pytest.raises(httpx.HTTPStatusError):
        await tasks.post_webhook(ctx, url=receiver.url, payload=payload)
    receiver.status, receiver.delay_seconds = 204, 1.0
    with pytest.raises(httpx.TimeoutException):
        await tasks.post_webhook(ctx, url=receiver.url, payload=payload)
    receiver.status, receiver.delay_seconds = 401, 0.0
    with pytest.raises(PermanentFailure, match="answered 401"):
        await tasks.post_webhook(ctx, url=receiver.url, payload=payload)
    # Every attempt carried the same delivery id: a receiver can drop the copies.
    assert len({headers["X-Lifeceo-Delivery"] for headers, _ in receiver.received}) == 1
