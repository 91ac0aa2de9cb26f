"""Who is asking, as infrastructure sees it: platform routes (feature flags, admin pages) need
an id, the administrator bit and the groups, not the domain's users. The application names the
dependency that authenticates a request (`install`); platform code never imports the domain.

That dependency is called with the request, its database session and the cache, the ones the
route's other dependencies get, so an answer it keeps in the session is found again."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Protocol

from fastapi import Depends, FastAPI, Request
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.errors import Forbidden, Unauthorized
from lifeceo.platform.cache import AppCache, Cache
from lifeceo.platform.db.session import DbSession
from lifeceo.platform.http.openapi import declares


class Principal(Protocol):
    id: int
    is_admin: bool
    groups: list[str]


Authenticate = Callable[[Request, AsyncSession, Cache], Awaitable[Principal | None]]


def install(app: FastAPI, *, authenticate: Authenticate) -> None:
    """`authenticate(request, session, cache)`: the principal, None when no credentials were
    presented; it raises Unauthorized (or Forbidden) for credentials it refuses."""
    app.state.authenticate = authenticate


@declares(401, unsafe=(403,), credentials="optional")
async def optional_principal(request: Request, session: DbSession,
                             cache: AppCache) -> Principal | None:
    return await request.app.state.authenticate(request, session, cache)


@declares(401, credentials="required")
async def required_principal(
        principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    if principal is None:
        raise Unauthorized("Log in first: send Authorization: Bearer <token>.")
    return principal


@declares(403)
async def administrator(
        principal: Annotated[Principal, Depends(required_principal)]) -> Principal:
    # Platform code knows no roles service; the one admin flag is checked here.
    if not principal.is_admin:
        raise Forbidden("Only administrators may do this.")
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
Administrator = Annotated[Principal, Depends(administrator)]
