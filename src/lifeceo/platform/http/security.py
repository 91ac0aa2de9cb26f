"""Security headers on every response, as pure ASGI middleware: a Content-Security-Policy that lets
API answers load nothing and HTML pages only our own files, nosniff, no framing, a referrer
policy, and HSTS when the request came over HTTPS."""

from collections.abc import Callable
from typing import NamedTuple

from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

RawHeaders = list[tuple[bytes, bytes]]
# A JSON or problem body rendered as a document (opened directly, or sniffed) may run nothing,
# load nothing, be framed by nobody and submit nowhere.
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Pages (/docs, the web client) load scripts, styles, fonts and data from this origin only, and
# no inline script or style. data: images are the icons that swagger-ui.css embeds.
PAGE_DIRECTIVES = {
    "default-src": "'self'", "script-src": "'self'", "style-src": "'self'",
    "img-src": "'self' data:", "font-src": "'self'", "connect-src": "'self'",
    "object-src": "'none'", "base-uri": "'self'", "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# Everything the same for every response. X-Frame-Options is frame-ancestors for browsers
# that predate CSP level 2.
COMMON_HEADERS: RawHeaders = [(b"x-content-type-options", b"nosniff"),
                              (b"x-frame-options", b"DENY")]
# An API response links nowhere; a page's own requests keep their Referer (RUM, analytics), the
# links it has to other sites send none.
API_REFERRER = (b"referrer-policy", b"no-referrer")
PAGE_REFERRER = (b"referrer-policy", b"same-origin")
CSP = b"content-security-policy"


def page_policy(**relaxed: str) -> str:
    """The pages' policy, with the directives named (style_src=...) replaced for one page."""
    directives = {**PAGE_DIRECTIVES,
                  **{name.replace("_", "-"): value for name, value in relaxed.items()}}
    return "; ".join(f"{name} {value}" for name, value in directives.items())


PAGE_POLICY = page_policy()


class HeaderSets(NamedTuple):
    """What a response gets, by kind; built once per scheme."""

    api: RawHeaders
    page: RawHeaders
    not_modified: RawHeaders

    @classmethod
    def build(cls, *, hsts: tuple[bytes, bytes] | None) -> "HeaderSets":
        common = COMMON_HEADERS + ([hsts] if hsts else [])
        return cls(api=common + [API_REFERRER, (CSP, API_POLICY.encode())],
                   page=common + [PAGE_REFERRER, (CSP, PAGE_POLICY.encode())],
                   not_modified=common)


HSTS = b"strict-transport-security"
MANAGED = frozenset({name for name, _ in COMMON_HEADERS} | {API_REFERRER[0], CSP, HSTS})


def _kind(headers: RawHeaders) -> tuple[bool, set[bytes]]:
    """Whether the response is an HTML page, and which of our headers its route set itself
    (a page's own CSP, the media endpoints' nosniff): those are kept, not repeated."""
    html = False
    present: set[bytes] = set()
    for name, value in headers:
        if name == b"content-type":
            html = value[:9].lower() == b"text/html"
        elif name in MANAGED:
            present.add(name)
    return html, present


class SecurityHeadersMiddleware:
    """Adds the headers above to every HTTP response; Strict-Transport-Security too when the
    request's scheme is https, which uvicorn sets from X-Forwarded-Proto only for a proxy in
    LIFECEO_FORWARDED_ALLOW_IPS (browsers ignore HSTS received over plain HTTP, RFC 6797 8.1).

    The header lists are built once: a response costs one scan of its headers and one list
    copy. They depend on the response's type and the request's scheme only, so no Vary: a
    shared cache that keeps a response fetched over HTTPS hands its HSTS to a plain-HTTP client,
    which ignores it, and other responses give it to an HTTPS one."""

    def __init__(self, app: ASGIApp, *, hsts_max_age_seconds: int) -> None:
        self.app = app
        hsts = (HSTS, f"max-age={hsts_max_age_seconds}".encode())
        self.plain = HeaderSets.build(hsts=None)
        self.https = HeaderSets.build(hsts=hsts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sets = self.https if scope.get("scheme") == "https" else self.plain

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                html, present = _kind(headers)
                if message["status"] == 304:
                    # A 304 carries no Content-Type to choose by, and a cache updates its stored
                    # response with the 304's headers (RFC 9111 4.3.4): a CSP or referrer policy
                    # here could replace a page's with the API's. The stored ones stay.
                    added = sets.not_modified
                else:
                    added = sets.page if html else sets.api
                if present:
                    added = [(name, value) for name, value in added if name not in present]
                headers += added
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_secured)


def install(app: Starlette, *, hsts_max_age_seconds: int) -> None:
    """Wraps even Starlette's ServerErrorMiddleware, which sends the 500 problem itself, outside
    every middleware that add_middleware can place: a 500 gets the headers too."""
    build: Callable[[], ASGIApp] = app.build_middleware_stack

    def build_secured() -> ASGIApp:
        return SecurityHeadersMiddleware(build(), hsts_max_age_seconds=hsts_max_age_seconds)

    app.build_middleware_stack = build_secured  # type: ignore[method-assign]
