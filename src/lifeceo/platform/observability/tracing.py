"""OpenTelemetry, set up once per process (each web worker, each job worker): spans for requests,
SQL, Redis, outgoing HTTP and jobs, exported by OTLP/HTTP. With no endpoint configured nothing is
installed, so requests pay nothing for it."""

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI
from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lifeceo.platform.observability.metrics_http import UNMATCHED, route_template
from lifeceo.settings import Settings

# Probes and scrapes arrive every few seconds from machines, not people: traces of them would
# drown the requests worth looking at.
UNTRACED_PREFIXES = ("/api/health", "/api/metrics")
PROPAGATED_HEADERS = frozenset({b"traceparent", b"tracestate"})
OTLP_TRACES_PATH = "/v1/traces"
# The job argument that carries the enqueuing request's W3C trace context to the job.
JOB_TRACE_ARG = "_trace"
PROPAGATOR = TraceContextTextMapPropagator()


@dataclass
class Tracing:
    """This process's tracer provider and what it instrumented."""

    provider: TracerProvider
    tracer: trace.Tracer


_active: Tracing | None = None


def active() -> Tracing | None:
    return _active


def release() -> str:
    try:
        return version("lifeceo")
    except PackageNotFoundError:  # running from a source tree without installing
        return "0+unknown"


def configure_tracing(settings: Settings, *, role: str = "web",
                      exporter: SpanExporter | None = None) -> Tracing | None:
    """Install tracing in this process when `LIFECEO_OTEL_ENDPOINT` is set, or with `exporter`
    (tests: spans handed over synchronously); None, and nothing installed, otherwise. Once per
    process: later calls return what the first one installed."""
    global _active
    if _active is not None:
        return _active
    processor: SpanProcessor
    if exporter is not None:
        processor = SimpleSpanProcessor(exporter)
    elif settings.otel_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        processor = BatchSpanProcessor(
            OTLPSpanExporter(endpoint=_traces_url(settings.otel_endpoint)))
    else:
        return None
    # Imported here: the exporter and the instrumentations are 0.2-0.3 s of CPU, which every
    # worker's start paid for with tracing off (the default).
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.resources import Resource

    resource = Resource.create({
        "service.name": settings.otel_service_name,
        "service.version": release(),
        "service.instance.id": f"{socket.gethostname()}:{os.getpid()}",
        "deployment.environment.name": settings.env,
        "lifeceo.process.role": role,
    })
    provider = TracerProvider(resource=resource,
                              sampler=ParentBased(root=RequestsAndJobs(settings.otel_sample_ratio)))
    provider.add_span_processor(processor)
    # Not made the global provider: FastAPI's own telemetry starts as soon as there is one,
    # and its request span and per-dependency spans (3 more per request) doubled the cost of a
    # sampled request here. What is traced is instrumented below with this provider.
    RedisInstrumentor().instrument(tracer_provider=provider)
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    _active = Tracing(provider=provider, tracer=provider.get_tracer("lifeceo"))
    return _active


def shutdown_tracing() -> None:
    """Export what is pending and take the instrumentation out again."""
    global _active
    if _active is None:
        return
    tracing, _active = _active, None
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

    RedisInstrumentor().uninstrument()
    HTTPXClientInstrumentor().uninstrument()
    EngineTracer.remove_all_event_listeners()
    tracing.provider.shutdown()


def instrument_engine(engine: AsyncEngine) -> None:
    """SQL spans for the statements `engine` runs, when tracing is on."""
    if _active is None:
        return
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

    # The connection-usage gauge is the metrics module's business, not the tracer's.
    usage = metrics.NoOpMeterProvider().get_meter("lifeceo").create_up_down_counter("unused")
    EngineTracer(_active.provider.get_tracer("opentelemetry.instrumentation.sqlalchemy"),
                 engine.sync_engine, usage)


def instrument_app(app: FastAPI) -> None:
    """A server span around each request; call after every other middleware is added, so that
    the span covers them and the access log line."""
    if _active is not None:
        app.add_middleware(ServerSpanMiddleware, tracer=_active.tracer)


class ServerSpanMiddleware:
    """The request's server span, named by its route template (`GET /posts/{post_id}`, never the
    raw path), continuing a caller's W3C traceparent.

    Ours rather than opentelemetry-instrumentation-asgi's: that one spent 106 µs per request
    here (a bare route: 175 → 281 µs of CPU) before sampling, collecting attributes and metric
    labels, 7 % of a cached feed read; this one only starts a span (unsampled: no attributes)."""

    def __init__(self, app: ASGIApp, *, tracer: trace.Tracer) -> None:
        self.app = app
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNTRACED_PREFIXES):
            await self.app(scope, receive, send)
            return
        carrier = {name.decode("latin-1"): value.decode("latin-1")
                   for name, value in scope["headers"] if name in PROPAGATED_HEADERS}
        parent = PROPAGATOR.extract(carrier) if carrier else None
        span = self.tracer.start_span(scope["method"], context=parent,
                                      kind=trace.SpanKind.SERVER)
        if not span.is_recording():  # not sampled: only its ids, for the logs and for jobs
            with trace.use_span(span, end_on_exit=True):
                await self.app(scope, receive, send)
            return
        span.set_attributes(_request_attributes(scope))

        async def send_annotated(message: Message) -> None:
            if message["type"] == "http.response.start":
                _annotate(span, scope, message["status"])
            await send(message)

        # use_span records an escaping exception and ends the span after the last byte is sent.
        with trace.use_span(span, end_on_exit=True):
            try:
                await self.app(scope, receive, send_annotated)
            except Exception:  # an unhandled error: the 500 is sent further out, after the span
                _annotate(span, scope, 500)
                raise


def _request_attributes(scope: Scope) -> dict[str, str | int]:
    """HTTP semantic conventions; no query string or header that could hold a credential."""
    attributes: dict[str, str | int] = {
        "http.request.method": scope["method"], "url.scheme": scope.get("scheme", "http"),
        "url.path": scope["path"], "network.protocol.version": scope.get("http_version", "1.1")}
    for name, value in scope["headers"]:
        if name == b"host":
            attributes["server.address"] = value.decode("latin-1")
        elif name == b"user-agent":
            attributes["user_agent.original"] = value.decode("latin-1")
    if scope.get("client"):
        attributes["client.address"] = scope["client"][0]
    return attributes


def _annotate(span: trace.Span, scope: Scope, status: int) -> None:
    route = route_template(scope)
    if route != UNMATCHED:  # a 404's raw path would make each scanner's probe a span name
        span.update_name(f"{scope['method']} {route}")
        span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(trace.StatusCode.ERROR)
    request_id = scope.get("state", {}).get("request_id")
    if request_id is not None:
        span.set_attribute("lifeceo.request_id", request_id)


def job_trace_context() -> dict[str, str] | None:
    """The current span's W3C trace context (traceparent, tracestate) to store with a job being
    enqueued; None when no span is current (tracing off), so that jobs carry nothing then."""
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier)
    return carrier


@contextmanager
def job_span(*, name: str, queue: str, carrier: dict[str, str] | None) -> Iterator[None]:
    """The span of one job run: a trace of its own (a job may run long after the request, and
    more than once), linked to the request that enqueued it."""
    if _active is None:
        yield
        return
    links = []
    if carrier:
        enqueued_by = trace.get_current_span(PROPAGATOR.extract(carrier)).get_span_context()
        if enqueued_by.is_valid:
            links.append(trace.Link(enqueued_by))
    with _active.tracer.start_as_current_span(
            f"job {name}", context=otel_context.Context(), kind=trace.SpanKind.CONSUMER,
            links=links, attributes={"lifeceo.job.name": name, "lifeceo.job.queue": queue}):
        yield


class RequestsAndJobs(Sampler):
    """Where a new trace may start (ParentBased consults it only without a parent): a request
    or a job, at the configured ratio, except that a job linked to a sampled request is always
    kept (else a request's trace would lose its jobs at ratio squared); a lone SQL or Redis call
    outside any request or job (a background loop's) is not worth a trace of its own."""

    def __init__(self, ratio: float) -> None:
        self._ratio = TraceIdRatioBased(ratio)

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None,
                      links=None, trace_state=None) -> SamplingResult:
        if links and any(link.context.trace_flags.sampled for link in links):
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)
        if kind == trace.SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        return self._ratio.should_sample(parent_context, trace_id, name, kind, attributes,
                                         links, trace_state)

    def get_description(self) -> str:
        return f"RequestsAndJobs{{{self._ratio.get_description()}}}"


def _traces_url(endpoint: str) -> str:
    """The collector's base URL (as OTEL_EXPORTER_OTLP_ENDPOINT) or its full traces URL."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith(OTLP_TRACES_PATH) else endpoint + OTLP_TRACES_PATH
