"""GET /api/v1/admin/logs on an application with tracing on: the records of one request, found
by its request id or its trace id."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import update
from tests import factories

from lifeceo.app import create_app
from lifeceo.community.users.models import User
from lifeceo.platform.observability.recent import RECENT_LOGS
from lifeceo.platform.observability.tracing import configure_tracing, shutdown_tracing
from lifeceo.settings import Settings

LOGS = "/api/v1/admin/logs"
PASSWORD = "Sup3r-Secret-pw-77"


async def fail(password: str):
    raise RuntimeError(f"could not check password={password}")


@pytest.fixture
async def traced(app) -> AsyncIterator[tuple[FastAPI, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    configure_tracing(Settings(otel_sample_ratio=1.0), exporter=exporter)
    try:
        application = create_app(Settings())
        application.add_api_route("/api/v1/test/fail", fail, methods=["GET"])
        async with application.router.lifespan_context(application):
            yield application, exporter
    finally:
        shutdown_tracing()


async def test_an_administrator_finds_a_request_s_errors_by_request_or_trace_id(traced, session):
    application, exporter = traced
    RECENT_LOGS.clear()
    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        member = await factories.user(http, "member")
        admin = await factories.user(http, "boss")
        await session.execute(update(User).where(User.username == "boss").values(is_admin=True))
        await session.commit()
        failed = await http.get("/api/v1/test/fail", params={"password": PASSWORD},
                                headers={"X-Request-ID": "fail-1"})
        assert failed.status_code == 500
        assert (await http.get(LOGS)).status_code == 401
        assert (await http.get(LOGS, headers=member)).status_code == 403

        by_request = await http.get(LOGS, params={"request_id": "fail-1"}, headers=admin)
        [server] = [span for span in exporter.get_finished_spans()
                    if span.kind == SpanKind.SERVER
                    and span.attributes.get("lifeceo.request_id") == "fail-1"]
        trace_id = format(server.context.trace_id, "032x")
        # The span of a request that failed unhandled: named by its route, an error.
        assert server.name == "GET /api/v1/test/fail"
        assert server.status.status_code == StatusCode.ERROR
        by_trace = await http.get(LOGS, params={"trace_id": trace_id}, headers=admin)
        above_error = await http.get(LOGS, params={"request_id": "fail-1", "level": "critical"},
                                     headers=admin)
        invalid = [await http.get(LOGS, params=params, headers=admin) for params in (
            {"trace_id": "not-a-trace"}, {"limit": 0}, {"level": "info"},
            {"since": "yesterday"})]

    assert by_request.status_code == 200
    page = by_request.json()
    [record] = page["items"]
    assert record["event"] == "unhandled error" and record["level"] == "error"
    assert record["logger"] == "lifeceo.platform.http.problems"
    assert record["trace_id"] == trace_id and record["request_id"] == "fail-1"
    assert "RuntimeError: could not check password=[Filtered]" in record["fields"]["exception"]
    assert PASSWORD not in by_request.text
    assert page["capacity"] == Settings().log_recent_max_records and page["held"] >= 1
    assert by_trace.json()["items"] == page["items"]
    assert above_error.json()["items"] == []
    assert [answer.status_code for answer in invalid] == [422, 422, 422, 422]
    assert all(answer.headers["content-type"] == "application/problem+json" for answer in invalid)
