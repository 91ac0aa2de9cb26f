"""RFC 9457 problem details: every error the API returns has this shape."""

import time
from http import HTTPStatus

import orjson
import psycopg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from lifeceo.errors import LifeceoError
from lifeceo.platform.db.errors import database_unavailable
from lifeceo.platform.http.methods import allowed_methods

PROBLEM_JSON = "application/problem+json"
OVERLOAD_RETRY_AFTER_SECONDS = 1
# A PostgreSQL restart or failover takes seconds (pg_ctl restart -m fast: about 1 s here, a
# managed failover 5-30 s): a retry sooner than this would most likely find it still down.
UNAVAILABLE_RETRY_AFTER_SECONDS = 5
# One warning per outage, not one per request: a 5 s outage under 10 clients is hundreds.
UNAVAILABLE_LOG_EVERY_SECONDS = 10.0
_unavailable_logged_at = float("-inf")
log = structlog.get_logger(__name__)


def problem_body(status: int, *, detail: str | None = None, instance: str | None = None,
                 title: str | None = None, **extensions: object) -> bytes:
    body: dict[str, object] = {
        "type": "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return orjson.dumps(body)


def problem(status: int, *, headers: dict[str, str] | None = None, **fields: object) -> Response:
    return Response(problem_body(status, **fields), status_code=status, media_type=PROBLEM_JSON,
                    headers=headers)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, object]]:
    # Only location, message and type: the rejected input may be a password.
    return [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg"), "type": error.get("type")}
        for error in exc.errors()
    ]


async def on_domain_error(request: Request, exc: LifeceoError) -> Response:
    return problem(exc.status, title=exc.title, detail=exc.detail, instance=request.url.path,
                   headers=exc.headers, **exc.extensions)


async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
    errors = _validation_errors(exc)
    if any(error["type"] == "json_invalid" for error in errors):
        return problem(400, detail="The request body is not valid JSON.",
                       instance=request.url.path)
    if any(error["loc"] == ["body"] and error["type"] == "model_attributes_type"
           for error in errors) and not _json(request):
        # FastAPI parses a body as JSON only when it is declared so; any other is not "invalid
        # input" but input of the wrong kind.
        return problem(415, detail="Send the body as application/json.",
                       instance=request.url.path)
    return problem(422, detail="The request does not match the schema.",
                   instance=request.url.path, errors=errors)


def _json(request: Request) -> bool:
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
    detail = exc.detail if isinstance(exc.detail, str) else None
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        headers = {**(headers or {}),
                   "Allow": ", ".join(allowed_methods(request.app.routes, request.scope))}
    return problem(exc.status_code, detail=detail, instance=request.url.path, headers=headers)


async def on_overload(request: Request, exc: PoolTimeout) -> Response:
    """Every database connection of this process stayed busy for the pool's timeout: the
    server is overloaded, not broken. Clients and load balancers may retry shortly."""
    log.warning("database pool exhausted", path=request.url.path)
    return problem(503, detail="The server is busy; retry shortly.", instance=request.url.path,
                   headers={"Retry-After": str(OVERLOAD_RETRY_AFTER_SECONDS)})


async def on_database_error(request: Request, exc: Exception) -> Response:
    """PostgreSQL refused the connection or dropped it: a dependency outage, answered 503
    here, inside, where the connection stays usable (an error left to the outermost handler
    makes uvicorn close it after the response, without telling the client). Other database
    errors are bugs and go on to that handler."""
    if not database_unavailable(exc):
        raise exc
    global _unavailable_logged_at
    now = time.monotonic()
    if now - _unavailable_logged_at >= UNAVAILABLE_LOG_EVERY_SECONDS:
        _unavailable_logged_at = now
        log.warning("database unavailable; answering 503", path=request.url.path,
                    error=str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return problem(503, detail="The database is unavailable; retry shortly.",
                   instance=request.url.path,
                   headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER_SECONDS)})


async def on_unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", path=request.url.path)
    return problem(500, detail="An unexpected error occurred; it has been logged.",
                   instance=request.url.path)


def install(app: FastAPI) -> None:
    app.add_exception_handler(LifeceoError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(PoolTimeout, on_overload)
    app.add_exception_handler(DBAPIError, on_database_error)
    app.add_exception_handler(psycopg.Error, on_database_error)
    app.add_exception_handler(Exception, on_unexpected_error)
