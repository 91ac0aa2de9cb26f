"""Trace context from the enqueuing span to the job, through PostgreSQL and a worker."""

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from queue_helpers import RUNS, job_rows, wait_for

from lifeceo.platform.observability.tracing import (
    JOB_TRACE_ARG,
    active,
    configure_tracing,
    shutdown_tracing,
)
from lifeceo.platform.queue import enqueue, enqueue_many
from lifeceo.settings import Settings


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    assert configure_tracing(Settings(otel_sample_ratio=1.0), exporter=spans) is not None
    yield spans
    shutdown_tracing()


async def test_a_job_enqueued_in_a_span_runs_in_a_span_linked_to_it(queued, worker, exporter):
    async with queued.sessionmaker() as session:
        with active().tracer.start_as_current_span("enqueuing request") as request:
            await enqueue(session, "queue-test-record", n=1)
            await enqueue_many(session, "queue-test-record", [{"n": 2}])
        await session.commit()
    rows = await job_rows(queued, "queue-test-record")
    sent = request.get_span_context()
    traceparent = f"00-{sent.trace_id:032x}-{sent.span_id:016x}-{int(sent.trace_flags):02x}"
    assert [row.args for row in rows] == [
        {"n": n, JOB_TRACE_ARG: {"traceparent": traceparent}} for n in (1, 2)]

    worker.start("email")
    await wait_for(lambda: sorted(RUNS.done) == [("record", 1), ("record", 2)])
    await wait_for(lambda: len([s for s in exporter.get_finished_spans()
                                if s.name == "job queue-test-record"]) == 2)
    jobs = [s for s in exporter.get_finished_spans() if s.name == "job queue-test-record"]
    for job in jobs:
        assert job.kind == SpanKind.CONSUMER and job.parent is None
        assert [link.context.span_id for link in job.links] == [request.get_span_context().span_id]
        assert job.context.trace_id != request.get_span_context().trace_id


async def test_without_a_span_jobs_carry_no_trace_context(queued, exporter):
    async with queued.sessionmaker() as session:
        await enqueue(session, "queue-test-record", n=1)
        await session.commit()
    assert [row.args for row in await job_rows(queued, "queue-test-record")] == [{"n": 1}]
