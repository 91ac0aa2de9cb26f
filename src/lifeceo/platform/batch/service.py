"""Rules of a batch: each sub-request is a request of its own, built from the batch request."""

import uuid
from urllib.parse import unquote

import orjson
from starlette.types import ASGIApp, Scope

from lifeceo.platform.batch.asgi import Exchange, exchange
from lifeceo.platform.batch.schemas import SubRequest, SubResponse

# Who the client is and how it proved it: the same for every sub-request unless one overrides it.
# X-Forwarded-For cannot be overridden (schemas.RESERVED_HEADERS): no sub-request claims another
# client address. The peer address (scope "client"), which rate limits key on, is copied as well.
INHERITED_HEADERS = (b"host", b"authorization", b"cookie", b"x-csrf-token", b"x-forwarded-for",
                     b"user-agent")
# The sub-request id is the batch's with a suffix, and must still pass the request-id check of
# RequestContextMiddleware (128 characters at most) to be kept rather than replaced.
MAX_PARENT_ID_CHARS = 124
# The session cookie is httponly; a batch body is readable by script, so cookies stay out of it.
UNRELAYED_HEADERS = frozenset({"set-cookie"})


class BatchService:
    async def run(self, *, app: ASGIApp, parent: Scope,
                  requests: list[SubRequest]) -> list[SubResponse]:
        """Sub-requests one after the other, each in its own transaction, through the whole app."""
        parent_id = parent.get("state", {}).get("request_id") or uuid.uuid4().hex
        responses = []
        for number, request in enumerate(requests, start=1):
            body = orjson.dumps(request.body) if "body" in request.model_fields_set else b""
            scope = _sub_scope(parent, request, body=body,
                               request_id=f"{parent_id[:MAX_PARENT_ID_CHARS]}-{number}")
            responses.append(_sub_response(await exchange(app, scope, body)))
        return responses


def _sub_scope(parent: Scope, request: SubRequest, *, body: bytes, request_id: str) -> Scope:
    target, _, query = request.path.partition("?")
    root_path = parent.get("root_path", "")
    return {
        "type": "http",
        "asgi": parent.get("asgi", {"version": "3.0"}),
        "http_version": parent.get("http_version", "1.1"),
        "method": request.method,
        "scheme": parent.get("scheme", "http"),
        "server": parent.get("server"),
        "client": parent.get("client"),
        # The ASGI path includes the root path; the router strips it again.
        "root_path": root_path,
        "path": root_path + unquote(target),
        "raw_path": (root_path + target).encode(),
        "query_string": query.encode(),
        "headers": _sub_headers(parent, request, body=body, request_id=request_id),
        # Request-scoped state only: nothing the batch request's middleware put there.
        "state": {},
    }


def _sub_headers(parent: Scope, request: SubRequest, *, body: bytes,
                 request_id: str) -> list[tuple[bytes, bytes]]:
    given = {name.encode(): value.encode("latin-1") for name, value in request.headers.items()}
    inherited = [(name, value) for name, value in parent.get("headers", ())
                 if name in INHERITED_HEADERS and name not in given]
    headers = inherited + [(name, value) for name, value in given.items() if value]
    headers.append((b"x-request-id", request_id.encode()))
    if "body" in request.model_fields_set:
        headers += [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())]
    return headers


def _sub_response(result: Exchange) -> SubResponse:
    headers: dict[str, str] = {}
    for raw_name, raw_value in result.headers:
        name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
        if name not in UNRELAYED_HEADERS:
            # RFC 9110 section 5.3: repeated fields combine into one, comma-separated.
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return SubResponse(status=result.status, headers=headers,
                       body=_decoded(bytes(result.body), headers.get("content-type", "")))


def _decoded(body: bytes, content_type: str) -> object:
    if not body:
        return None
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return body.decode("utf-8", errors="replace")


batch_service = BatchService()
