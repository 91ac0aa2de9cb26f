"""The cache policy table: who may store which response, with which Vary and surrogate keys."""

import pytest
from tests.unit.platform.httpcache.asgi_apps import client_of, responding

from lifeceo.platform.httpcache import add_surrogate_keys
from lifeceo.platform.httpcache.policy import (
    NO_STORE,
    PRIVATE,
    VARY,
    CachePolicy,
    CachePolicyMiddleware,
    public_read,
)
from lifeceo.settings import Settings

POLICY = CachePolicy.from_settings(
    Settings(http_public_max_age_seconds=7, http_stale_while_revalidate_seconds=11,
             http_stale_if_error_seconds=13), session_cookie="lifeceo_session")
PUBLIC = "public, max-age=7, stale-while-revalidate=11, stale-if-error=13"


@pytest.mark.parametrize(("path", "keys"), [
    ("/api/v1/feed/public", {"feed:public"}),
    ("/api/v1/posts/12", {"post:12"}),
    ("/api/v1/posts/12/comments", {"post:12"}),
    ("/api/v1/users/Ana", {"user:ana"}),
    ("/api/v1/users/ana/posts", {"user:ana"}),
    ("/api/v1/users/ana/followers", {"user:ana"}),
    ("/api/v1/users/ana/following", {"user:ana"}),
    ("/api/v1/events", {"events"}),
    ("/api/v1/events/3", {"event:3"}),
    ("/api/v1/events/3/attendees", {"event:3"}),
    ("/api/v1/media/5", {"media:5"}),
    ("/api/v1/media/5/content", {"media:5"}),
])
def test_public_reads_and_their_keys(path, keys):
    route, match = public_read(path)
    assert route.keys_for(match) == keys


@pytest.mark.parametrize("path", [
    "/api/v1/feed", "/api/v1/me", "/api/v1/notifications", "/api/v1/posts/12/like",
    "/api/v1/users/a b", "/api/v1/posts/abc", "/api/v1/feed/public/x", "/api/v1/events/1/rsvp",
])
def test_anything_else_is_not_a_public_read(path):
    assert public_read(path) is None


@pytest.mark.parametrize(("method", "path", "status", "personal", "expected"), [
    ("GET", "/api/v1/feed/public", 200, False, (PUBLIC, VARY)),
    ("HEAD", "/api/v1/events/3", 200, False, (PUBLIC, VARY)),
    ("GET", "/api/v1/feed/public", 200, True, (PRIVATE, VARY)),
    ("GET", "/api/v1/posts/999", 404, False, (NO_STORE, ())),
    ("GET", "/api/v1/feed", 200, True, (PRIVATE, VARY)),
    ("GET", "/openapi.json", 200, False, (PRIVATE, VARY)),
    ("GET", "/api/v1/me", 200, True, (NO_STORE, ())),
    ("GET", "/api/v1/notifications", 200, True, (NO_STORE, ())),
    ("POST", "/api/v1/auth/login", 200, False, (NO_STORE, ())),
    ("GET", "/api/health/ready", 200, False, (NO_STORE, ())),
    ("POST", "/api/v1/posts", 201, True, (NO_STORE, ())),
    ("DELETE", "/api/v1/posts/1", 204, True, (NO_STORE, ())),
    # /media starts like /me: it must not be mistaken for it.
    ("GET", "/api/v1/media/5", 200, False, (PUBLIC, VARY)),
])
def test_decisions(method, path, status, personal, expected):
    assert POLICY.decide(method=method, path=path, status=status, personal=personal) == expected


@pytest.mark.parametrize(("headers", "personal"), [
    ([], False),
    ([(b"authorization", b"Bearer x")], True),
    ([(b"cookie", b"lifeceo_session=abc")], True),
    ([(b"cookie", b"theme=dark; lifeceo_session=abc")], True),
    ([(b"cookie", b"lifeceo_csrf=abc; theme=dark")], False),
    ([(b"cookie", b"not_lifeceo_session=abc")], False),
    ([(b"cookie", b'theme="dark blue; lifeceo_session=abc')], True),
    ([(b"cookie", b"theme=dark"), (b"cookie", b"lifeceo_session=abc")], True),
])
def test_credentials_make_a_request_personal(headers, personal):
    assert POLICY.is_personal(headers) is personal


async def test_an_anonymous_public_read_is_public_with_vary_and_surrogate_keys():
    async def app(scope, receive, send):
        add_surrogate_keys("user:ana", "post:1")
        await responding(b"{}", headers={"vary": "Origin"})(scope, receive, send)

    async with client_of(CachePolicyMiddleware(app, policy=POLICY)) as http:
        response = await http.get("/api/v1/posts/1")
    assert response.headers["cache-control"] == PUBLIC
    assert response.headers["vary"] == "Origin, Authorization, Cookie, Accept-Encoding"
    assert response.headers["surrogate-key"] == "post:1 user:ana"
    assert response.headers["xkey"] == "post:1 user:ana"


async def test_a_route_that_sets_cache_control_keeps_it_and_is_still_tagged():
    app = responding(b"png", content_type="image/png",
                     headers={"cache-control": "public, max-age=31536000, immutable"})
    async with client_of(CachePolicyMiddleware(app, policy=POLICY)) as http:
        response = await http.get("/api/v1/media/5/content", headers={"Authorization": "Bearer x"})
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "vary" not in response.headers
    assert response.headers["xkey"] == "media:5"


async def test_a_page_with_too_many_keys_for_one_header_is_not_shared():
    async def app(scope, receive, send):
        add_surrogate_keys(*(f"post:{n}" for n in range(1000)))
        await responding(b"{}")(scope, receive, send)

    async with client_of(CachePolicyMiddleware(app, policy=POLICY)) as http:
        response = await http.get("/api/v1/feed/public")
    assert response.headers["cache-control"] == PRIVATE
    assert "xkey" not in response.headers and "surrogate-key" not in response.headers


async def test_writes_are_not_stored_nor_tagged():
    async def app(scope, receive, send):
        add_surrogate_keys("post:1")
        await responding(b"{}", status=201)(scope, receive, send)

    async with client_of(CachePolicyMiddleware(app, policy=POLICY)) as http:
        response = await http.post("/api/v1/posts/1/comments")
    assert response.headers["cache-control"] == NO_STORE
    assert "xkey" not in response.headers and "vary" not in response.headers


def test_surrogate_keys_are_validated_and_ignored_outside_a_request():
    add_surrogate_keys("post:1")
    with pytest.raises(ValueError):
        add_surrogate_keys("post 1")
    with pytest.raises(ValueError):
        add_surrogate_keys("")
