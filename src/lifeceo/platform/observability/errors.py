"""Sentry, for errors only (traces go to OpenTelemetry): unhandled request errors and failed job
runs, with release, environment, request id and user id, and never an email, password, token or
cookie. Without `LIFECEO_SENTRY_DSN` no client is started; the request middleware stays, for
the log context of the "unhandled error" line."""

import sys
from collections.abc import Iterable
from functools import partial
from types import ModuleType
from typing import TYPE_CHECKING, Any

import structlog
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from lifeceo.platform.http.middleware import header
from lifeceo.platform.observability.logging import trace_ids
from lifeceo.platform.observability.metrics_http import route_template
from lifeceo.platform.observability.scrub import FILTERED, scrub
from lifeceo.platform.observability.tracing import release
from lifeceo.settings import Settings

if TYPE_CHECKING:
    import sentry_sdk

# Shorter values (a cookie "1") would blank out unrelated text.
MIN_KNOWN_SECRET_CHARS = 8


def _active_sentry() -> ModuleType | None:
    """sentry_sdk if this process started a client. It is imported only to start one: it was
    0.2 s of CPU of every worker's start without a DSN (the default)."""
    sentry = sys.modules.get("sentry_sdk")
    return sentry if sentry is not None and sentry.get_client().is_active() else None


def configure_error_reporting(settings: Settings) -> bool:
    """Start the Sentry client of this process if a DSN is set; whether it did."""
    if settings.sentry_dsn is None:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.atexit import AtexitIntegration
    from sentry_sdk.integrations.dedupe import DedupeIntegration
    from sentry_sdk.integrations.excepthook import ExcepthookIntegration

    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        release=settings.sentry_release or f"lifeceo@{release()}",
        environment=settings.env,
        # Errors only: traces go to OpenTelemetry.
        traces_sample_rate=0.0,
        # No framework integrations: they would wrap every request (a cost on the hot path) and
        # report from logs too; this module captures what it means to, where it happens.
        default_integrations=False,
        auto_enabling_integrations=False,
        integrations=[ExcepthookIntegration(), DedupeIntegration(), AtexitIntegration()],
        # Breadcrumbs would gather in the process's global scope across requests.
        max_breadcrumbs=0,
        before_send=scrub_event,
    )
    return True


def shutdown_error_reporting() -> None:
    """Send what is queued and stop the client."""
    sentry_sdk = sys.modules.get("sentry_sdk")
    if sentry_sdk is None:
        return
    client = sentry_sdk.get_client()
    if client.is_active():
        client.close(timeout=5)
    sentry_sdk.get_global_scope().set_client(None)


def install_error_reporting(app: FastAPI) -> None:
    """Add inside the request-context middleware, whose log context (request and user ids) it
    reads and keeps for the error log line."""
    app.add_middleware(UnhandledErrorMiddleware)


class UnhandledErrorMiddleware:
    """Sees the exceptions no handler turned into a response: the ones that become the 500
    problem further out (problems.on_unexpected_error, in Starlette's outermost middleware).
    4xx are handled inside, as domain errors, validation errors or HTTP exceptions, and never
    get here. It binds the trace ids to the log context, which the request context keeps on an
    error, so that the "unhandled error" line written out there carries them with the request
    id; and reports the error to Sentry when configured."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            structlog.contextvars.bind_contextvars(**trace_ids())
            if _active_sentry() is not None:
                report_request_error(exc, scope)
            raise


def report_request_error(exc: BaseException, scope: Scope) -> None:
    import sentry_sdk

    bound = structlog.contextvars.get_contextvars()
    route = route_template(scope)
    known = [value for value in _credentials(scope) if len(value) >= MIN_KNOWN_SECRET_CHARS]
    with sentry_sdk.new_scope() as sentry_scope:
        _tag_correlation(sentry_scope, bound)
        sentry_scope.set_transaction_name(f"{scope['method']} {route}")
        # The request as far as it is safe: no query string, headers, cookies or body.
        request = {"method": scope["method"], "url": _url(scope)}
        sentry_scope.add_event_processor(
            lambda event, hint: {**event, "request": {**event.get("request", {}), **request}})
        sentry_scope.add_event_processor(partial(_drop_known, known))
        sentry_sdk.capture_exception(exc)


def report_job_error(exc: BaseException, *, job: str, queue: str) -> None:
    sentry_sdk = _active_sentry()
    if sentry_sdk is None:
        return
    with sentry_sdk.new_scope() as sentry_scope:
        _tag_correlation(sentry_scope, structlog.contextvars.get_contextvars())
        sentry_scope.set_transaction_name(f"job {job}")
        sentry_scope.set_tag("job", job)
        sentry_scope.set_tag("queue", queue)
        sentry_sdk.capture_exception(exc)


def scrub_event(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """before_send: drop sensitive keys' values and sensitive text, throughout the event."""
    return scrub(event)


def _drop_known(secrets: list[str], event: dict[str, Any], hint: dict[str, Any]) -> dict:
    """The request's own credentials, wherever they were copied to (a message, a local)."""
    if not secrets:
        return event

    def drop(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: drop(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [drop(item) for item in value]
        if isinstance(value, str):
            for secret in secrets:
                value = value.replace(secret, FILTERED)
        return value

    return drop(event)


def _credentials(scope: Scope) -> Iterable[str]:
    """The bearer token and cookie values this request presented."""
    for name, value in scope.get("headers", ()):
        text = value.decode("latin-1")
        if name == b"authorization":
            yield text.partition(" ")[2].strip()
        elif name == b"cookie":
            for pair in text.split(";"):
                yield pair.partition("=")[2].strip()


def _tag_correlation(sentry_scope: "sentry_sdk.Scope", bound: dict[str, Any]) -> None:
    if "request_id" in bound:
        sentry_scope.set_tag("request_id", bound["request_id"])
    if "user_id" in bound:
        sentry_scope.set_user({"id": str(bound["user_id"])})
    trace_id = trace_ids().get("trace_id", bound.get("trace_id"))
    if trace_id is not None:
        sentry_scope.set_tag("trace_id", trace_id)


def _url(scope: Scope) -> str:
    host = header(scope, b"host") or ""
    return f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}{scope['path']}"
