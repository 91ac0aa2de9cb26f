"""The OpenAPI document says what the API really answers.

FastAPI documents a route's success and its 422; the other answers come from elsewhere: the
dependencies a route uses (who is asking, rate limits, pagination), the shape of the request (a
path names a resource that may not exist; a body may be too large or not JSON) and the
middleware in front of every route (503 when a dependency is down). A dependency says what it
adds with `@declares(...)`; `install` walks each route's dependencies once, when the document is
first asked for, and adds those answers as problem+json, with the credentials the route accepts.
A route states what only it knows (a 409) in its own `responses=problem_responses(409)`."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal, TypeVar

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts

from lifeceo.platform.http.problems import PROBLEM_JSON

F = TypeVar("F", bound=Callable[..., Any])
ATTRIBUTE = "__lifeceo_openapi__"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
# RFC 9457, with the extensions this API adds.
PROBLEM_SCHEMA = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details; 422s list the fields in `errors`.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object",
            "properties": {"loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                           "msg": {"type": "string"}, "type": {"type": "string"}}}},
    },
    "required": ["type", "title", "status"],
}
DESCRIPTIONS = {
    400: "Malformed: a body that does not parse, a cursor this API did not issue, or values "
         "that contradict each other",
    401: "The credentials presented are unknown, expired or revoked, or the route needs some",
    403: "Not allowed to this user, or a cookie-authenticated write without its X-CSRF-Token",
    404: "Nothing by that name or id that this client may see",
    409: "The resource's state does not allow this now",
    413: "The body is larger than this route accepts",
    415: "The body's Content-Type is not one this route accepts",
    422: "The request does not match the schema (`errors` says where)",
    428: "The change must name the version it was based on (If-Match)",
    429: "A rate limit is spent (`Retry-After` says for how long)",
    503: "A dependency (the database) is unavailable or the server is busy; retry after "
         "`Retry-After` seconds",
}
CREDENTIALS = [{"bearer": []}, {"session": []}]
BOUNDS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})


@dataclass(frozen=True)
class Declared:
    statuses: frozenset[int]
    # Only on POST, PUT, PATCH and DELETE (the CSRF check).
    unsafe_statuses: frozenset[int]
    credentials: Literal["optional", "required"] | None


def declares(*statuses: int, unsafe: tuple[int, ...] = (),
             credentials: Literal["optional", "required"] | None = None) -> Callable[[F], F]:
    """Marks a dependency: every route that uses it may answer these statuses (`unsafe` only to
    writes), and accepts (or needs) credentials."""

    def mark(dependency: F) -> F:
        setattr(dependency, ATTRIBUTE, Declared(frozenset(statuses), frozenset(unsafe),
                                                credentials))
        return dependency

    return mark


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """For `responses=`: answers a route (or a router's routes) gives as problem+json."""
    return {status: _problem(status) for status in statuses}


def install(app: FastAPI, *, api_prefix: str, session_cookie: str) -> None:
    """Completes the document FastAPI generates, once, the first time it is asked for."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            # As FastAPI sees them: with the dependencies of the routers that include them.
            describe(generate(), [route for route in iter_route_contexts(app.routes)
                                if isinstance(route.original_route, APIRoute)
                                and route.include_in_schema], api_prefix=api_prefix,
                     session_cookie=session_cookie)
        return app.openapi_schema

    app.openapi = openapi


def describe(document: dict[str, Any], routes: list[RouteContext], *, api_prefix: str,
             session_cookie: str) -> None:
    _integral_bounds(document)
    components = document.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    # FastAPI's own 422 bodies are replaced by problems; their schemas go unused.
    for unused in ("HTTPValidationError", "ValidationError"):
        components["schemas"].pop(unused, None)
    components["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer",
                   "description": "The token POST /api/v1/auth/login returns"},
        "session": {"type": "apiKey", "in": "cookie", "name": session_cookie,
                    "description": "The browser's session cookie; writes also need X-CSRF-Token"},
    }
    for route in routes:
        declared = list(_declared(route.dependant))
        credentials = {item.credentials for item in declared} - {None}
        for method in route.methods:
            operation = document["paths"][route.path_format][method.lower()]
            statuses = set()
            if route.path_format.startswith(api_prefix):
                statuses |= {503, *_shaped(operation)}
            for item in declared:
                statuses |= item.statuses
                if method in UNSAFE_METHODS:
                    statuses |= item.unsafe_statuses
            responses = operation["responses"]
            for status in sorted(statuses):
                responses.setdefault(str(status), _problem(status))
            for status, response in responses.items():
                # FastAPI's default content (its 422, or a `responses=` entry without content).
                default = set(response.get("content", {})) <= {"application/json"}
                if status.isdigit() and int(status) >= 400 and default:
                    response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
            if credentials:
                operation["security"] = (CREDENTIALS if "required" in credentials
                                         else [{}, *CREDENTIALS])


def _integral_bounds(node: object) -> None:
    """FastAPI's document model holds bounds as floats, even an integer's; a float, compared
    with a large id, is off by up to 512. Bounds are whole numbers again (exactly: the row id
    bound is chosen to be a double)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in BOUNDS and isinstance(value, float) and value.is_integer():
                node[key] = int(value)
            else:
                _integral_bounds(value)
    elif isinstance(node, list):
        for item in node:
            _integral_bounds(item)


def _problem(status: int) -> dict[str, Any]:
    return {"description": DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
            "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}}


def _shaped(operation: dict[str, Any]) -> set[int]:
    """What the request's shape allows to go wrong."""
    statuses = set()
    if any(parameter["in"] == "path" for parameter in operation.get("parameters", [])):
        statuses.add(404)
    if "requestBody" in operation:
        # 400: a body that does not parse (JSON, multipart).
        statuses |= {400, 413, 415}
    return statuses


def _declared(dependant: Dependant) -> Iterator[Declared]:
    for dependency in dependant.dependencies:
        found = getattr(dependency.call, ATTRIBUTE, None)
        if found is not None:
            yield found
        yield from _declared(dependency)
