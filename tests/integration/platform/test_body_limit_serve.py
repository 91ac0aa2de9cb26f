"""Oversized bodies against the real `lifeceo serve` over TCP: the client receives its 413.

An ASGI transport cannot show this: what loses the answer is the socket closed under a client
that is still sending."""

import os
import socket
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from tests.serving import environment, serving

from lifeceo.settings import Settings

pytestmark = pytest.mark.slow

ATTEMPTS = 20
SETTINGS = Settings()
# Over the limits, within the drain bound: the 5 MB JSON body, a photo 2 MB too large.
JSON_BYTES = 5 * 1000 * 1000
UPLOAD_BYTES = SETTINGS.max_upload_bytes + 2 * 1024 * 1024
assert JSON_BYTES > SETTINGS.max_body_bytes and UPLOAD_BYTES <= SETTINGS.max_body_drain_bytes


@pytest.fixture(scope="module")
def server(database_url, tmp_path_factory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("body-limit")
    env = environment(drop=["LIFECEO_JOBS_INLINE"], database_url=database_url,
                      data_dir=str(directory / "data"), jobs_worker_in_serve="false")
    with serving(directory / "serve.log", env, workers=1) as served:
        yield served.url


def json_body() -> bytes:
    return b'{"body": "' + b"x" * (JSON_BYTES - 12) + b'"}'


def multipart_body() -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.jpg\""
            f"\r\nContent-Type: image/jpeg\r\n\r\n").encode() + os.urandom(UPLOAD_BYTES) + \
        f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def urllib_outcome(url: str, body: bytes, content_type: str) -> str:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return str(response.status)
    except urllib.error.HTTPError as error:
        problem = error.read()
        return f"{error.code}" if b'"status":413' in problem else f"{error.code} {problem[:80]}"
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return type(reason).__name__


def httpx_outcomes(url: str, request: Callable[[], dict[str, Any]]) -> Counter:
    """ATTEMPTS requests over one client: a 413 that keeps the connection lets the next reuse it."""
    outcomes: Counter = Counter()
    with httpx.Client(timeout=30) as http:
        for _ in range(ATTEMPTS):
            try:
                response = http.post(url, **request())
            except httpx.TransportError as error:
                outcomes[type(error).__name__] += 1
                continue
            outcomes[f"{response.status_code} {response.headers.get('connection', 'keep-alive')}"] += 1
    return outcomes


def test_urllib_receives_the_413_for_an_oversized_json_body(server):
    body = json_body()
    outcomes = Counter(urllib_outcome(f"{server}/api/v1/posts", body, "application/json")
                       for _ in range(ATTEMPTS))
    assert outcomes == {"413": ATTEMPTS}


def test_urllib_receives_the_413_for_an_oversized_upload(server):
    body, content_type = multipart_body()
    outcomes = Counter(urllib_outcome(f"{server}/api/v1/media", body, content_type)
                       for _ in range(ATTEMPTS))
    assert outcomes == {"413": ATTEMPTS}


def test_httpx_receives_the_413_and_keeps_the_connection_within_the_drain_bound(server):
    body = json_body()
    headers = {"Content-Type": "application/json"}
    assert httpx_outcomes(f"{server}/api/v1/posts", lambda: {
        "content": body, "headers": headers}) == {"413 keep-alive": ATTEMPTS}
    # Chunked: no Content-Length to refuse up front, the limit is met while reading.
    chunks = [body[start:start + 65536] for start in range(0, len(body), 65536)]
    assert httpx_outcomes(f"{server}/api/v1/posts", lambda: {
        "content": iter(chunks), "headers": headers}) == {"413 keep-alive": ATTEMPTS}
    # Past the bound: refused at once, without reading, and the connection closed.
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(b"POST /api/v1/posts HTTP/1.1\r\nHost: test\r\n"
                           b"Content-Type: application/json\r\n"
                           b"Content-Length: %d\r\n\r\n" % (SETTINGS.max_body_drain_bytes + 1))
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 413") and b"connection: close" in head


def test_httpx_receives_the_413_for_an_oversized_upload(server):
    photo = os.urandom(UPLOAD_BYTES)
    assert httpx_outcomes(f"{server}/api/v1/media", lambda: {"files": {
        "file": ("big.jpg", photo, "image/jpeg")}}) == {"413 keep-alive": ATTEMPTS}


