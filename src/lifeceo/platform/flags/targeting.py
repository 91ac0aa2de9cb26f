"""Who a flag is evaluated for: a logged-in user by id and groups, an anonymous visitor by a
random key kept in a cookie, so that their rollout bucket never changes between requests."""

import re
import secrets
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from lifeceo.platform.flags.evaluation import NO_GROUPS

VISITOR_COOKIE = "lifeceo_visitor"
# A year, renewed whenever the flags endpoint sees it: a returning visitor keeps their bucket.
VISITOR_MAX_AGE_SECONDS = 365 * 24 * 3600
VISITOR_SHAPE = re.compile(r"^[A-Za-z0-9_-]{22,64}$")


@dataclass(frozen=True, slots=True)
class Target:
    key: str
    groups: frozenset[str] = NO_GROUPS
    # A visitor key this request made up: the response must set the cookie.
    new_visitor: bool = False


def user_target(user_id: int, groups: list[str] | tuple[str, ...] = ()) -> Target:
    return Target(f"user:{user_id}", frozenset(groups))


def visitor_target(request: Request) -> Target:
    """The visitor's key from the cookie, or a new one when it is missing or malformed."""
    presented = request.cookies.get(VISITOR_COOKIE, "")
    if VISITOR_SHAPE.match(presented):
        return Target(f"visitor:{presented}")
    return Target(f"visitor:{secrets.token_urlsafe(16)}", new_visitor=True)


def remember_visitor(request: Request, response: Response, target: Target, *,
                     production: bool) -> None:
    """Set (or renew) the visitor cookie for an anonymous target."""
    if not target.key.startswith("visitor:"):
        return
    response.set_cookie(VISITOR_COOKIE, target.key.removeprefix("visitor:"),
                        max_age=VISITOR_MAX_AGE_SECONDS, httponly=True, samesite="lax",
                        secure=production or request.url.scheme == "https")
