"""Traces as the application makes them, read from the SDK's in-memory exporter: an application
built with tracing on, a private Redis as its L2 cache, jobs inline."""

import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from tests import factories

from lifeceo.app import create_app
from lifeceo.platform.observability.logging import configure_logging
from lifeceo.platform.observability.tracing import configure_tracing, shutdown_tracing
from lifeceo.settings import Settings


@dataclass
class Traced:
    app: FastAPI
    exporter: InMemorySpanExporter

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app),
                                 base_url="http://testserver")

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())


@pytest.fixture
def sample_ratio() -> float:
    return 1.0


@pytest.fixture
async def traced(app, redis_server, sample_ratio) -> AsyncIterator[Traced]:
    """Tracing on in an application of its own, on the test database (emptied through `app`)."""
    settings = Settings(redis_url=redis_server.url, otel_sample_ratio=sample_ratio)
    exporter = InMemorySpanExporter()
    assert configure_tracing(settings, exporter=exporter) is not None
    try:
        application = create_app(settings)
        async with application.router.lifespan_context(application):
            yield Traced(application, exporter)
    finally:
        shutdown_tracing()


@contextmanager
def json_logs() -> Iterator[None]:
    """JSON lines on the (captured) stderr, then the handlers of before: a handler left on the
    capture's stream would write to a closed file after the test."""
    root = logging.getLogger()
    handlers = root.handlers[:]
    configure_logging(log_format="json")
    try:
        yield
    finally:
        root.handlers[:] = handlers


def _hex(number: int, digits: int) -> str:
    return format(number, f"0{digits}x")


def _descends_from(span: ReadableSpan, ancestor: ReadableSpan, by_id: dict) -> bool:
    while span.parent is not None:
        if span.parent.span_id == ancestor.context.span_id:
            return True
        span = by_id.get(span.parent.span_id)
        if span is None:
            return False
    return False


async def test_a_request_that_queries_caches_and_enqueues_makes_one_linked_tree(traced, capfd):
    async with traced.client() as http:
        author = await factories.user(http, "author")
        liker = await factories.user(http, "liker")
        post = await http.post("/api/v1/posts", json={"body": "Milonga tonight"}, headers=author)
        post_id = post.json()["id"]
        traced.exporter.clear()
        with json_logs():
            liked = await http.post(f"/api/v1/posts/{post_id}/like",
                                    headers={**liker, "X-Request-ID": "like-1"})
        assert liked.status_code == 200
        # The notify job ran inline, so its `_trace` argument did not reach the handler.
        notifications = (await http.get("/api/v1/notifications", headers=author)).json()
        assert [item["kind"] for item in notifications["items"]] == ["like"]

    spans = traced.spans()
    by_id = {span.context.span_id: span for span in spans}
    requests = [span for span in spans if span.kind == SpanKind.SERVER
                and span.attributes.get("lifeceo.request_id") == "like-1"]
    assert len(requests) == 1
    request = requests[0]
    # Named by the route template, never the raw path.
    assert request.name == "POST /api/v1/posts/{post_id}/like"
    assert request.attributes["http.route"] == "/api/v1/posts/{post_id}/like"
    assert request.attributes["http.response.status_code"] == 200
    assert request.attributes["url.path"] == f"/api/v1/posts/{post_id}/like"
    assert request.parent is None

    in_request = [span for span in spans if span.context.trace_id == request.context.trace_id]
    sql = [span for span in in_request if span.attributes.get("db.system") == "postgresql"]
    redis = [span for span in in_request if span.attributes.get("db.system") == "redis"]
    assert sql and redis
    assert all(_descends_from(span, request, by_id) for span in sql + redis)
    assert all(span.kind == SpanKind.CLIENT for span in sql + redis)

    jobs = [span for span in spans if span.name == "job notify"]
    assert len(jobs) == 1
    job = jobs[0]
    assert job.kind == SpanKind.CONSUMER and job.parent is None
    assert job.context.trace_id != request.context.trace_id  # a trace of its own ...
    assert [(link.context.trace_id, link.context.span_id) for link in job.links] == [
        (request.context.trace_id, request.context.span_id)]  # ... linked to the request
    assert job.attributes["lifeceo.job.queue"] == "notifications"
    job_sql = [span for span in spans if span.context.trace_id == job.context.trace_id
               and span.attributes.get("db.system") == "postgresql"]
    assert job_sql and all(_descends_from(span, job, by_id) for span in job_sql)

    # The request's log lines carry its trace and span ids.
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines()
             if line.startswith("{")]
    access = [line for line in lines if line.get("event") == "request"
              and line.get("request_id") == "like-1"]
    assert len(access) == 1
    assert access[0]["trace_id"] == _hex(request.context.trace_id, 32)
    assert access[0]["span_id"] == _hex(request.context.span_id, 16)


async def test_a_caller_s_traceparent_is_continued_and_probes_are_not_traced(traced):
    caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    async with traced.client() as http:
        await http.get("/api/v1/feed/public",
                       headers={"traceparent": f"00-{caller_trace}-00f067aa0ba902b7-01"})
        await http.get("/api/health")
    servers = [span for span in traced.spans() if span.kind == SpanKind.SERVER]
    assert [span.name for span in servers] == ["GET /api/v1/feed/public"]
    assert _hex(servers[0].context.trace_id, 32) == caller_trace
    assert _hex(servers[0].parent.span_id, 16) == "00f067aa0ba902b7"


async def test_without_an_endpoint_nothing_is_installed(app):
    assert configure_tracing(Settings()) is None
    names = {middleware.cls.__name__ for middleware in app.user_middleware}
    assert "OpenTelemetryMiddleware" not in names and "RouteSpanMiddleware" not in names


@pytest.mark.parametrize("sample_ratio", [0.0])
async def test_an_unsampled_request_exports_nothing_but_its_log_lines_carry_ids(traced, capfd):
    with json_logs():
        async with traced.client() as http:
            await http.get("/api/v1/feed/public", headers={"X-Request-ID": "unsampled-1"})
    assert traced.spans() == []
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines()
             if line.startswith("{")]
    [access] = [line for line in lines if line.get("request_id") == "unsampled-1"]
    assert len(access["trace_id"]) == 32 and len(access["span_id"]) == 16
