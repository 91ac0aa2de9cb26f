"""Bodies of POST /api/v1/batch: sub-requests in, their responses out, in the same order."""

import re
from typing import Annotated, Any, Literal
from urllib.parse import unquote

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

# The prefix app.py mounts the API under; a sub-request may only address the API.
API_PREFIX = "/api/v1"
BATCH_PATH = f"{API_PREFIX}/batch"
# From the issue: enough to load a screen in one round trip, few enough that one batch cannot
# hold a worker for long (the sub-requests run one after the other).
MAX_BATCH_REQUESTS = 20
MAX_SUB_HEADERS = 20
# A Bearer token is 43 characters and our cookies are under 200; 4 KiB is a common per-header cap.
MAX_HEADER_VALUE_CHARS = 4096
# Set by the batch itself from the parent request, or framing the batch controls: a sub-request
# naming one would either break the exchange or claim another client address for rate limits.
RESERVED_HEADERS = frozenset({
    "host", "content-length", "content-type", "transfer-encoding", "connection", "keep-alive",
    "te", "upgrade", "expect", "accept-encoding", "x-request-id", "x-forwarded-for",
    "x-forwarded-proto", "x-forwarded-host", "forwarded", "x-real-ip",
})
_TOKEN = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")
# Visible latin-1 and spaces: no CR, LF or NUL that could split or truncate a header.
_FIELD_VALUE = re.compile(r"^[\x20-\x7e\xa0-\xff]*$")
_PATH_CHARS = re.compile(r"^[\x21-\x7e]+$")


def _header_name(name: str) -> str:
    if not _TOKEN.fullmatch(name):
        raise ValueError("a header name is 1-64 token characters")
    name = name.lower()
    if name in RESERVED_HEADERS:
        raise ValueError(f"{name} is set by the batch, not by a sub-request")
    return name


def _api_path(path: str) -> str:
    """A path of this API, with an optional query string; checked as the router will decode it."""
    if not _PATH_CHARS.fullmatch(path) or "#" in path or "\\" in path:
        raise ValueError("a path is printable ASCII without spaces, '#' or '\\'")
    target = path.partition("?")[0]
    if not target.startswith(f"{API_PREFIX}/"):
        raise ValueError(f"a path starts with {API_PREFIX}/ (no scheme, no host)")
    segments = unquote(target).split("/")[1:]
    # An empty segment is allowed only as a trailing slash.
    if any(segment in (".", "..") for segment in segments) or "" in segments[:-1]:
        raise ValueError("a path has no '.', '..' or empty segments")
    if unquote(target).rstrip("/") == BATCH_PATH:
        raise ValueError("a batch cannot contain a batch")
    return path


HeaderName = Annotated[str, AfterValidator(_header_name)]
HeaderValue = Annotated[str, StringConstraints(max_length=MAX_HEADER_VALUE_CHARS,
                                               pattern=_FIELD_VALUE.pattern)]
ApiPath = Annotated[str, Field(min_length=1, max_length=2048), AfterValidator(_api_path)]


class SubRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: ApiPath = Field(description=f"{API_PREFIX}/..., optionally with a query string")
    headers: Annotated[dict[HeaderName, HeaderValue], Field(max_length=MAX_SUB_HEADERS)] = Field(
        default_factory=dict,
        description="Replace the batch request's Authorization, Cookie or X-CSRF-Token, which "
                    "are otherwise copied; an empty value sends the header not at all.")
    body: Any = Field(default=None, description="Any JSON, sent as the sub-request's JSON body; "
                                                "omitted: no body.")


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    requests: Annotated[list[SubRequest], Field(min_length=1, max_length=MAX_BATCH_REQUESTS)]


class SubResponse(BaseModel):
    status: int
    headers: dict[str, str] = Field(description="Lower-case names; repeated fields joined with "
                                                "', '; Set-Cookie is not relayed.")
    body: Any = Field(description="Parsed when the sub-response is JSON, else text; null when "
                                  "empty.")


class BatchResponse(BaseModel):
    responses: list[SubResponse]
