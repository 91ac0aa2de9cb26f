"""structlog for our lines and for the standard library's (uvicorn, alembic), rendered once."""

import logging
import sys

import structlog
from opentelemetry import trace

from lifeceo.platform.observability.error_groups import add_error_group
from lifeceo.platform.observability.logs_queue import SHIP_QUEUE
from lifeceo.platform.observability.recent import RECENT_LOGS, RecentLogsHandler

# Keys whose values never reach a log line, whatever code passes them.
SECRET_KEYS = frozenset({"password", "token", "authorization", "cookie", "secret", "secret_key"})


def redact_secrets(_logger: object, _method: str, event_dict: dict) -> dict:
    for key in event_dict.keys() & SECRET_KEYS:
        event_dict[key] = "[redacted]"
    return event_dict


def trace_ids() -> dict[str, str]:
    """The current span's trace_id and span_id in their W3C hex form; none without a span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": format(context.trace_id, "032x"), "span_id": format(context.span_id, "016x")}


def add_trace_ids(_logger: object, _method: str, event_dict: dict) -> dict:
    """The current span's ids (when tracing is on), to find a line's trace and a trace's lines."""
    event_dict.update(trace_ids())
    return event_dict


def configure_logging(*, log_format: str = "auto", level: str = "INFO", env: str = "development",
                      recent_max_records: int | None = None) -> None:
    as_json = log_format == "json" or (
        log_format == "auto" and (env == "production" or not sys.stderr.isatty())
    )
    shared = [
        structlog.contextvars.merge_contextvars,
        add_trace_ids,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
        # Before the exception becomes text (format_exc_info): its group, for the monitor.
        add_error_group,
    ]
    renderer = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if as_json else (lambda _l, _m, e: e),
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    # Warnings and errors are also kept in memory for GET /admin/logs (recent.py), and queued
    # for PostgreSQL while a log shipper runs in this process (logs_shipper.py).
    if recent_max_records is not None:
        RECENT_LOGS.resize(recent_max_records)
    root.handlers[:] = [handler, RecentLogsHandler(RECENT_LOGS, shared, ship=SHIP_QUEUE.offer)]
    root.setLevel(level.upper())
    # uvicorn installs its own handlers; route them to the root handler once, and drop its access
    # log in favour of ours (which carries the request id).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    # Alembic announces each of its plugins at INFO in every process that imports it.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # httpx (Varnish purges) would log every request it makes at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
