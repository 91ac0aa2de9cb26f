"""Security headers on every kind of response, the Bearer challenge of a 401, and /docs and /redoc
served from installed files only."""

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from tests import factories

from lifeceo.platform.http import problems
from lifeceo.settings import get_settings

ORIGIN = "http://testserver"


def directives(policy: str) -> dict[str, set[str]]:
    """`default-src 'self'; img-src 'self' data:` -> {"default-src": {"'self'"}, ...}."""
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name.lower()] = set(values)
    return parsed


def assert_common(response: httpx.Response) -> None:
    assert response.headers.get_list("x-content-type-options") == ["nosniff"], response.url
    assert response.headers.get_list("x-frame-options") == ["DENY"], response.url


def assert_api_headers(response: httpx.Response) -> None:
    """Nothing may load, frame or be submitted from a response that is not a page."""
    assert_common(response)
    policy = directives(response.headers["content-security-policy"])
    assert policy["default-src"] == {"'none'"}, response.url
    assert policy["frame-ancestors"] == {"'none'"}, response.url
    assert response.headers["referrer-policy"] == "no-referrer", response.url


def assert_page_headers(response: httpx.Response) -> dict[str, set[str]]:
    """Our own origin only, no inline script, never framed; returns the policy."""
    assert_common(response)
    assert len(response.headers.get_list("content-security-policy")) == 1
    policy = directives(response.headers["content-security-policy"])
    assert policy["default-src"] == {"'self'"}
    assert policy["script-src"] == {"'self'"}
    assert policy["frame-ancestors"] == {"'none'"}
    assert policy["object-src"] == {"'none'"}
    assert response.headers["referrer-policy"] in ("same-origin", "no-referrer",
                                                   "strict-origin-when-cross-origin")
    return policy


async def test_every_kind_of_api_response_carries_the_strict_headers(client):
    headers = await factories.user(client, "shield")
    responses = {
        "json": await client.get("/api/v1/users/shield"),
        "personal json": await client.get("/api/v1/me", headers=headers),
        "problem 404": await client.get("/api/v1/users/nobody"),
        "problem 4xx": await client.get("/api/v1/feed/public?limit=-1"),
        "unauthorized": await client.get("/api/v1/me"),
        "health": await client.get("/api/health"),
        "readiness": await client.get("/api/health/ready"),
        "metrics": await client.get("/api/metrics"),
        "openapi": await client.get("/openapi.json"),
        "stylesheet": await client.get("/docs/vendor/swagger-ui.css"),
        "script": await client.get("/docs/static/swagger-init.js"),
        "413": await client.post("/api/v1/auth/register", content=b" " * (
            get_settings().max_body_bytes + 1), headers={"content-type": "application/json"}),
        "204": await client.post("/api/v1/auth/logout", headers=headers),
    }
    assert responses["unauthorized"].status_code == 401
    assert responses["413"].status_code == 413
    assert responses["204"].status_code == 204
    assert responses["metrics"].status_code == 200
    for kind, response in responses.items():
        assert response.status_code < 500, (kind, response.status_code)
        assert_api_headers(response)
        # Plain HTTP: HSTS would be ignored, and must not be claimed.
        assert "strict-transport-security" not in response.headers, kind


async def test_a_304_keeps_the_stored_policy_and_still_says_nosniff(client):
    await factories.user(client, "tagged")
    first = await client.get("/api/v1/users/tagged")
    again = await client.get("/api/v1/users/tagged",
                             headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert_common(again)
    # A cache merges a 304's headers into what it stored (RFC 9111 4.3.4): no policy here that
    # could replace a page's.
    assert "content-security-policy" not in again.headers
    assert "referrer-policy" not in again.headers


async def test_a_500_from_the_outermost_error_handler_carries_the_headers():
    # A 500 is a bug, so no route of the application gives one on purpose: this app has one,
    # with the application's own problem handlers and security wiring.
    from lifeceo.platform.http import security

    application = FastAPI()

    @application.get("/boom")
    async def boom() -> None:
        raise RuntimeError("bug")

    problems.install(application)
    security.install(application, hsts_max_age_seconds=60)
    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        response = await http.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert_api_headers(response)
    assert response.headers["strict-transport-security"] == "max-age=60"


async def test_https_requests_get_hsts_and_secure_cookies(app):
    transport = httpx.ASGITransport(app=app)
    for origin, secure in (("https://testserver", True), ("http://testserver", False)):
        async with httpx.AsyncClient(transport=transport, base_url=origin) as http:
            username = f"cookie{int(secure)}"
            await factories.user(http, username)
            login = await http.post("/api/v1/auth/login", json={
                "username": username, "password": factories.PASSWORD})
            assert login.status_code == 200
            cookies = login.headers.get_list("set-cookie")
            assert len(cookies) == 2
            for cookie in cookies:
                attributes = {part.strip().lower() for part in cookie.split(";")}
                assert ("secure" in attributes) is secure, (origin, cookie)
            hsts = login.headers.get("strict-transport-security")
            docs = await http.get("/docs")
        if secure:
            max_age = get_settings().http_hsts_max_age_seconds
            assert max_age > 0
            assert hsts == f"max-age={max_age}"
            assert docs.headers["strict-transport-security"] == hsts
        else:
            assert hsts is None
            assert "strict-transport-security" not in docs.headers


async def test_401s_carry_a_bearer_challenge(client):
    missing = await client.get("/api/v1/me")
    assert missing.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.headers["www-authenticate"] == 'Bearer realm="lifeceo"'
    # A token was presented but is not (or no longer) valid: RFC 6750's invalid_token.
    stale = await client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-session"})
    assert stale.status_code == 401
    assert stale.headers["www-authenticate"] == 'Bearer realm="lifeceo", error="invalid_token"'
    await factories.user(client, "challenged")
    wrong = await client.post("/api/v1/auth/login", json={
        "username": "challenged", "password": "not the password"})
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"].startswith("Bearer realm=")


class References(HTMLParser):
    """Every URL a page makes the browser load, and the bodies of its script elements."""

    URL_ATTRIBUTES = {"src", "href", "data-openapi-url", "spec-url", "action", "poster"}

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []
        self.inline_scripts: list[str] = []
        self.inline_styles = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in self.URL_ATTRIBUTES and value:
                self.urls.append((tag, value))
            if name == "style" or name.startswith("on"):
                self.inline_styles += 1
        self._in_script = tag == "script"
        if tag == "style":
            self.inline_styles += 1

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data)


CONTENT_TYPES = {".css": ("text/css",), ".js": ("text/javascript", "application/javascript"),
                 ".png": ("image/png",), ".json": ("application/json",)}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_documentation_pages_load_only_same_origin_files_that_are_served(client, page):
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = assert_page_headers(response)
    references = References()
    references.feed(response.text)
    assert references.inline_scripts == []
    assert references.inline_styles == 0
    scripts = [url for tag, url in references.urls if tag == "script"]
    assert scripts, "the page must start its viewer from a script file"
    for tag, url in references.urls:
        absolute = urljoin(f"{ORIGIN}{page}", url)
        assert urlsplit(absolute).netloc == urlsplit(ORIGIN).netloc, (tag, url)
        loaded = await client.get(absolute)
        assert loaded.status_code == 200, (url, loaded.status_code)
        suffix = "." + urlsplit(absolute).path.rsplit(".", 1)[-1]
        media_type = loaded.headers["content-type"].split(";")[0]
        assert media_type in CONTENT_TYPES[suffix], (url, media_type)
        assert loaded.content, url
    if page == "/redoc":
        # ReDoc's own exceptions, and those only: styles it inserts, its search worker.
        assert policy["style-src"] == {"'self'", "'unsafe-inline'"}
        assert policy["worker-src"] == {"'self'", "blob:"}
    else:
        assert policy["style-src"] == {"'self'"}
        assert "worker-src" not in policy
