"""Warnings shipped to log_records: found by request id through GET /api/v1/admin/logs across
pages, and deleted by the logs-expire job past their retention and the row cap."""

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import structlog
from fastapi import FastAPI
from sqlalchemy import func, select, update
from tests import factories

from lifeceo.app import create_app
from lifeceo.community.users.models import User
from lifeceo.platform.observability import logs_repository as repository
from lifeceo.platform.observability.logs_models import LogRecordRow
from lifeceo.platform.observability.logs_shipper import NODE
from lifeceo.platform.observability.logs_tasks import expire
from lifeceo.settings import Settings

LOGS = "/api/v1/admin/logs"
log = structlog.get_logger("lifeceo.test.shipping")


async def warn_three_times():
    for n in range(3):
        log.warning("disk almost full", attempt=n, token="s3cr3t-value", to="ana@example.org")
    return {"ok": True}


@pytest.fixture
async def application(app) -> AsyncIterator[FastAPI]:
    application = create_app(Settings())
    application.add_api_route("/api/v1/test/warn", warn_three_times, methods=["GET"])
    async with application.router.lifespan_context(application):
        yield application


async def test_a_request_s_warnings_are_found_by_request_id_in_the_database(application, session):
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        admin = await factories.user(http, "boss")
        await session.execute(update(User).where(User.username == "boss").values(is_admin=True))
        await session.commit()
        assert (await http.get("/api/v1/test/warn", headers={"X-Request-ID": "warn-1"})).is_success
        first = await http.get(LOGS, params={"request_id": "warn-1", "limit": 2}, headers=admin)
        second = await http.get(LOGS, params={"request_id": "warn-1", "limit": 2,
                                              "cursor": first.json()["next_cursor"]},
                                headers=admin)
        ring = await http.get(LOGS, params={"request_id": "warn-1", "scope": "process"},
                              headers=admin)
        errors_only = await http.get(LOGS, params={"request_id": "warn-1", "level": "error"},
                                     headers=admin)
        elsewhere = await http.get(LOGS, params={"request_id": "warn-1", "node": "elsewhere"},
                                   headers=admin)
        bad_cursor = await http.get(LOGS, params={"cursor": "not-ours"}, headers=admin)

    assert first.status_code == 200, first.text
    page = first.json()
    assert page["source"] == "database" and page["degraded"] is None
    attempts = [item["fields"]["attempt"] for item in page["items"]]
    assert attempts == [2, 1] and page["next_cursor"] is not None
    rest = second.json()
    assert [item["fields"]["attempt"] for item in rest["items"]] == [0]
    assert rest["next_cursor"] is None
    record = page["items"][0]
    assert (record["event"], record["level"], record["logger"]) == (
        "disk almost full", "warning", "lifeceo.test.shipping")
    assert (record["node"], record["pid"], record["role"]) == (NODE, os.getpid(), "web")
    assert record["fields"]["token"] == "[Filtered]" and record["fields"]["to"] == "[email]"
    # Written once, though two applications (two shippers) run in this process.
    async with application.state.sessionmaker() as db:
        assert await db.scalar(select(func.count()).select_from(LogRecordRow)
                               .where(LogRecordRow.request_id == "warn-1")) == 3
    assert ring.json()["source"] == "process"
    assert [item["fields"]["attempt"] for item in ring.json()["items"]] == [2, 1, 0]
    assert ring.json()["items"][0]["role"] == "web"
    assert errors_only.json()["items"] == [] and elsewhere.json()["items"] == []
    assert bad_cursor.status_code == 400
    assert bad_cursor.headers["content-type"] == "application/problem+json"


def _row(n: int, time: datetime) -> dict:
    return {"time": time, "level": "warning", "logger": "t", "event": f"e{n}",
            "request_id": None, "trace_id": None, "span_id": None, "node": "n", "pid": 1,
            "role": "web", "fields": {}}


async def test_the_expire_job_deletes_records_past_their_retention_and_the_row_cap(app, session):
    now = datetime.now(UTC)
    settings = app.state.settings.model_copy(update={"log_retention_hours": 2,
                                                     "log_retention_max_rows": 3})
    # Arrival order: two past the retention, then five recent ones.
    await repository.write(session, [_row(n, now - timedelta(hours=3)) for n in range(2)]
                           + [_row(n, now - timedelta(minutes=10 - n)) for n in range(2, 7)])
    await session.commit()
    deleted = await expire(session, settings=settings, now=now)
    await session.commit()
    kept = await session.scalars(select(LogRecordRow.event).order_by(LogRecordRow.id))
    assert deleted == {"expired": 2, "over_cap": 2}
    assert list(kept) == ["e4", "e5", "e6"]
    assert await expire(session, settings=settings, now=now) == {"expired": 0, "over_cap": 0}
