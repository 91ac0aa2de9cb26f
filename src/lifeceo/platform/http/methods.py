"""405 Method Not Allowed with a true `Allow` (RFC 9110 15.5.6).

FastAPI makes one route per method, so Starlette's router, which stops at the first route whose
path matches, names that route's methods alone: OPTIONS on /posts/{id} said `Allow: GET`,
hiding PATCH and DELETE. Here every route whose path matches is asked."""

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope


def allowed_methods(routes: list[BaseRoute], scope: Scope) -> list[str]:
    allowed: set[str] = set()
    # As the router sees them: routes inside included routers, under their prefixes.
    for route in iter_route_contexts(routes):
        # APIRoute is a Route; mounts (static files) answer every method themselves.
        if isinstance(route.original_route, Route) and route.methods:
            match, _ = route.matches(scope)
            if match is not Match.NONE:
                allowed |= route.methods
    return sorted(allowed)
