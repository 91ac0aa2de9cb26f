"""CompressionMiddleware: br or gzip by the client's preference, above a threshold, for text-like
types only, with Vary, Content-Length and ETags that tell encodings apart."""

import gzip

import brotli
import httpx
import pytest
from tests.unit.platform.httpcache.asgi_apps import client_of, responding

from lifeceo.platform.httpcache.compression import CompressionMiddleware, negotiate
from lifeceo.platform.httpcache.etag import ETagMiddleware, strong_etag

MIN_BYTES = 1400
LARGE = b'{"items": [' + b",".join(b'{"id": %d, "body": "milonga"}' % n for n in range(100)) + b"]}"
SMALL = b'{"id": 1}'


@pytest.mark.parametrize(("accept_encoding", "coding"), [
    ("gzip, deflate, br", "br"),
    ("gzip", "gzip"),
    ("x-gzip", "gzip"),
    ("br;q=0, gzip", "gzip"),
    ("gzip;q=0.8, br;q=0.5", "gzip"),
    ("gzip;q=0, br;q=0", None),
    ("*", "br"),
    ("*;q=0", None),
    ("gzip, *;q=0", "gzip"),
    ("identity", None),
    ("deflate", None),
    ("br;q=banana, gzip", "gzip"),
    ("", None),
    (None, None),
])
def test_negotiation_takes_the_highest_q_and_never_a_refused_coding(accept_encoding, coding):
    assert negotiate(accept_encoding) == coding


def _compressing(app):
    return CompressionMiddleware(app, min_bytes=MIN_BYTES)


async def test_a_large_json_body_is_sent_as_brotli_with_its_length_vary_and_tag():
    app = _compressing(responding(LARGE, headers={"etag": '"abc"', "vary": "Cookie"}))
    async with client_of(app) as http:
        response = await http.get("/", headers={"Accept-Encoding": "gzip, br"})
    assert response.headers["content-encoding"] == "br"
    raw = brotli.compress(LARGE, quality=4)
    assert int(response.headers["content-length"]) == len(raw) < len(LARGE)
    assert response.content == LARGE
    assert response.headers["etag"] == '"abc-br"'
    assert response.headers["vary"] == "Cookie, Accept-Encoding"


async def test_gzip_when_brotli_is_refused_and_the_bytes_are_deterministic():
    app = _compressing(responding(LARGE, headers={"etag": 'W/"abc"'}))
    async with client_of(app) as http:
        first = await http.get("/", headers={"Accept-Encoding": "br;q=0, gzip"})
        second = await http.get("/", headers={"Accept-Encoding": "br;q=0, gzip"})
    assert first.headers["content-encoding"] == "gzip"
    assert first.headers["etag"] == 'W/"abc-gzip"'
    assert gzip.decompress(await _raw(app, "gzip")) == LARGE
    assert first.content == second.content == LARGE
    assert await _raw(app, "gzip") == await _raw(app, "gzip")


async def _fetch(app, accept_encoding: str) -> tuple[httpx.Response, bytes]:
    """The response and its bytes as sent, not decoded."""
    headers = {"Accept-Encoding": accept_encoding}
    async with client_of(app) as http, http.stream("GET", "/", headers=headers) as response:
        return response, b"".join([chunk async for chunk in response.aiter_raw()])


async def _raw(app, accept_encoding: str) -> bytes:
    return (await _fetch(app, accept_encoding))[1]


async def test_a_body_under_the_threshold_is_sent_as_is_but_still_varies():
    async with client_of(_compressing(responding(SMALL))) as http:
        response = await http.get("/", headers={"Accept-Encoding": "br, gzip"})
    assert "content-encoding" not in response.headers
    assert response.content == SMALL
    assert response.headers["vary"] == "Accept-Encoding"


async def test_no_acceptable_coding_sends_identity():
    async with client_of(_compressing(responding(LARGE))) as http:
        response = await http.get("/", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in response.headers
    assert int(response.headers["content-length"]) == len(LARGE)


@pytest.mark.parametrize(("content_type", "headers"), [
    ("image/png", {}),
    ("application/octet-stream", {}),
    ("application/json", {"content-encoding": "gzip"}),
    ("application/json", {"content-range": "bytes 0-99/5000"}),
])
async def test_incompressible_encoded_or_partial_responses_are_left_alone(content_type, headers):
    app = _compressing(responding(LARGE, content_type=content_type, headers=headers))
    response, raw = await _fetch(app, "br")
    assert response.headers.get("content-encoding") == headers.get("content-encoding")
    assert raw == LARGE


@pytest.mark.parametrize("content_type", [
    "text/html; charset=utf-8", "application/problem+json", "application/javascript",
    "image/svg+xml",
])
async def test_text_like_types_are_compressed(content_type):
    async with client_of(_compressing(responding(LARGE, content_type=content_type))) as http:
        response = await http.get("/", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"


async def test_a_stream_is_compressed_as_it_goes_without_a_length():
    chunks = [LARGE[:700], LARGE[700:1500], LARGE[1500:]]
    async with client_of(_compressing(responding(chunks=chunks))) as http:
        response = await http.get("/", headers={"Accept-Encoding": "br"})
    assert response.headers["content-encoding"] == "br"
    assert "content-length" not in response.headers
    assert response.content == LARGE


async def test_a_revalidation_with_the_encoded_tag_gets_304_with_that_tag():
    app = _compressing(ETagMiddleware(responding(LARGE, headers={"vary": "Accept-Encoding"})))
    encoded_tag = strong_etag(LARGE)[:-1] + '-gzip"'
    async with client_of(app) as http:
        first = await http.get("/", headers={"Accept-Encoding": "gzip"})
        again = await http.get("/", headers={"Accept-Encoding": "gzip",
                                             "If-None-Match": first.headers["etag"]})
        other_coding = await http.get("/", headers={"Accept-Encoding": "br",
                                                    "If-None-Match": first.headers["etag"]})
    assert first.headers["etag"] == encoded_tag
    assert again.status_code == 304
    assert again.headers["etag"] == encoded_tag
    assert again.headers["vary"] == "Accept-Encoding"
    # A br client holding the gzip bytes has a different representation: full response.
    assert other_coding.status_code == 200
    assert other_coding.headers["etag"] == strong_etag(LARGE)[:-1] + '-br"'
