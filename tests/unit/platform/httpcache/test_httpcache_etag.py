"""ETagMiddleware: strong tags on JSON 200s, 304 for a matching If-None-Match, the rest untouched."""

import pytest
from tests.unit.platform.httpcache.asgi_apps import client_of, responding

from lifeceo.platform.httpcache.etag import ETagMiddleware, none_match, strong_etag

BODY = b'{"items": [1, 2, 3]}'
CACHE_HEADERS = {"cache-control": "public, max-age=10", "vary": "Authorization, Cookie"}


async def test_a_json_200_gets_a_strong_tag_that_follows_its_body():
    async with client_of(ETagMiddleware(responding(BODY))) as http:
        first = await http.get("/")
    async with client_of(ETagMiddleware(responding(BODY + b" "))) as http:
        changed = await http.get("/")
    assert first.status_code == 200 and first.content == BODY
    assert first.headers["etag"] == strong_etag(BODY)
    assert first.headers["etag"].startswith('"') and not first.headers["etag"].startswith("W/")
    assert changed.headers["etag"] != first.headers["etag"]


@pytest.mark.parametrize("if_none_match", [
    strong_etag(BODY),
    f'"other", {strong_etag(BODY)}',
    f'W/{strong_etag(BODY)}',
    f'"a,b", W/"x", W/{strong_etag(BODY)}',
    "*",
])
async def test_a_matching_if_none_match_is_answered_304_with_the_cache_headers(if_none_match):
    app = ETagMiddleware(responding(BODY, headers=CACHE_HEADERS))
    async with client_of(app) as http:
        response = await http.get("/", headers={"If-None-Match": if_none_match})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == strong_etag(BODY)
    assert response.headers["cache-control"] == "public, max-age=10"
    assert response.headers["vary"] == "Authorization, Cookie"
    assert "content-type" not in response.headers and "content-length" not in response.headers


@pytest.mark.parametrize("if_none_match", ['"stale"', strong_etag(BODY)[:-2] + '"', "W/\"\""])
async def test_a_different_tag_gets_the_full_response(if_none_match):
    async with client_of(ETagMiddleware(responding(BODY))) as http:
        response = await http.get("/", headers={"If-None-Match": if_none_match})
    assert response.status_code == 200 and response.content == BODY


async def test_head_is_tagged_like_get():
    async with client_of(ETagMiddleware(responding(BODY))) as http:
        head = await http.head("/", headers={"If-None-Match": strong_etag(BODY)})
    assert head.status_code == 304


@pytest.mark.parametrize(("method", "status", "content_type"), [
    ("POST", 200, "application/json"),
    ("GET", 404, "application/problem+json"),
    ("GET", 200, "text/html"),
])
async def test_only_json_200s_to_get_or_head_are_tagged(method, status, content_type):
    app = ETagMiddleware(responding(BODY, status=status, content_type=content_type))
    async with client_of(app) as http:
        response = await http.request(method, "/", headers={"If-None-Match": "*"})
    assert response.status_code == status
    assert "etag" not in response.headers


async def test_json_suffix_types_are_tagged():
    app = ETagMiddleware(responding(BODY, content_type="application/health+json"))
    async with client_of(app) as http:
        assert (await http.get("/")).headers["etag"] == strong_etag(BODY)


async def test_a_route_that_sets_its_own_etag_keeps_it_and_decides_304s_itself():
    app = ETagMiddleware(responding(BODY, headers={"etag": '"route-tag"'}))
    async with client_of(app) as http:
        response = await http.get("/", headers={"If-None-Match": strong_etag(BODY)})
    assert response.status_code == 200
    assert response.headers["etag"] == '"route-tag"'


async def test_a_stream_within_the_bound_is_tagged():
    app = ETagMiddleware(responding(chunks=[b'{"a": ', b"1}"]))
    async with client_of(app) as http:
        response = await http.get("/")
    assert response.content == b'{"a": 1}'
    assert response.headers["etag"] == strong_etag(b'{"a": 1}')


async def test_a_stream_past_the_bound_passes_through_untagged_and_whole():
    chunks = [b"[" + b"1," * 40, b"2," * 40, b"3]"]
    app = ETagMiddleware(responding(chunks=chunks), max_buffer_bytes=100)
    async with client_of(app) as http:
        response = await http.get("/", headers={"If-None-Match": "*"})
    assert response.status_code == 200
    assert response.content == b"".join(chunks)
    assert "etag" not in response.headers


def test_if_none_match_parsing_splits_on_tags_not_commas():
    assert none_match('"a,b"', '"a,b"')
    assert not none_match('"a,b"', '"a"')
    assert none_match('W/"a,b"', 'W/"a,b"')
    assert not none_match("", '"a"')
