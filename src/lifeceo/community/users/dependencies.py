"""Who is asking: a Bearer token (API clients) or the session cookie (browsers, with CSRF)."""

import hmac
from typing import Annotated

import structlog
from fastapi import Depends, Request

from lifeceo.community.users.models import User
from lifeceo.community.users.service import csrf_token_for, user_service
from lifeceo.errors import Forbidden, Unauthorized
from lifeceo.platform.cache import AppCache
from lifeceo.platform.db.session import DbSession
from lifeceo.platform.http.openapi import declares

SESSION_COOKIE = "lifeceo_session"
CSRF_COOKIE = "lifeceo_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _credentials(request: Request) -> tuple[str | None, bool]:
    """The presented token and whether it came from the cookie."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), False
    cookie = request.cookies.get(SESSION_COOKIE)
    return (cookie, True) if cookie else (None, False)


@declares(401, unsafe=(403,), credentials="optional")
async def optional_viewer(request: Request, session: DbSession, cache: AppCache) -> User | None:
    token, from_cookie = _credentials(request)
    if token is None:
        return None
    found = await user_service.authenticate(session=session, cache=cache, token=token,
                                            for_write=request.method not in SAFE_METHODS)
    if found is None:
        raise Unauthorized("The session is unknown, expired or revoked.", invalid_token=True)
    if from_cookie and request.method not in SAFE_METHODS:
        presented = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(presented, csrf_token_for(token)):
            raise Forbidden("Missing or wrong X-CSRF-Token for a cookie-authenticated request.")
    user, session_id = found
    request.state.auth_session_id = session_id
    # On the request's later log lines, and on its error report (observability/errors.py).
    structlog.contextvars.bind_contextvars(user_id=user.id)
    return user


@declares(401, credentials="required")
async def required_user(viewer: Annotated[User | None, Depends(optional_viewer)]) -> User:
    if viewer is None:
        raise Unauthorized("Log in first: send Authorization: Bearer <token>.")
    return viewer


OptionalViewer = Annotated[User | None, Depends(optional_viewer)]
CurrentUser = Annotated[User, Depends(required_user)]
