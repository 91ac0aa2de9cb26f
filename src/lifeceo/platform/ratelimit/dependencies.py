"""Route dependencies that charge a request to a policy and refuse it with 429 once the quota is
spent: `dependencies=[rate_limit("content", viewer=optional_viewer)]`.

A client is the logged-in user when `viewer` (the dependency that says who is asking) finds one,
else its address. The endpoints that need the viewer ask again, so `viewer` should remember its
answer for the request (the users service keeps it in the request's database session).

The address is the peer's: under `lifeceo serve`, uvicorn's proxy_headers has already replaced a
proxy's address with the client's from X-Forwarded-For, and only for the proxies in
LIFECEO_FORWARDED_ALLOW_IPS, so reading the header here again could only disagree."""

import functools
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.params import Depends as DependsMarker

from lifeceo.errors import Forbidden, TooManyRequests, Unauthorized
from lifeceo.platform.http.openapi import declares
from lifeceo.platform.observability.clients import BUSIEST_CLIENTS
from lifeceo.platform.observability.metrics import record_rate_limit
from lifeceo.platform.ratelimit.limiter import Quota, RateLimiter

STATE_KEY = "rate_limits"
COUNTED_KEY = "rate_limited_client_counted"


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _limiter(request: Request) -> RateLimiter | None:
    return request.app.state.rate_limiter


def _record(request: Request, quota: Quota) -> None:
    """Kept for the headers middleware, which adds them to whatever response follows."""
    quotas: dict[str, Quota] = request.scope.setdefault("state", {}).setdefault(STATE_KEY, {})
    quotas[quota.policy.name] = quota


def _refuse(quota: Quota) -> TooManyRequests:
    policy = quota.policy
    return TooManyRequests(
        f"The {policy.name!r} limit of {policy.quota} requests per {policy.window_seconds} s is "
        f"reached; retry in {max(1, quota.reset_seconds)} s.", policy=policy.name)


async def _charge(request: Request, name: str, subject: str) -> None:
    limiter = _limiter(request)
    if limiter is None:
        return
    quota = await limiter.hit(name, subject)
    _record(request, quota)
    record_rate_limit(name, allowed=quota.allowed)
    if not quota.allowed:
        raise _refuse(quota)
    # Once per request, however many policies it is charged to (every API route's "api" and
    # perhaps its own): the monitor's shares are of requests.
    state = request.scope.setdefault("state", {})
    if not state.get(COUNTED_KEY):
        state[COUNTED_KEY] = True
        BUSIEST_CLIENTS.count(subject)


@functools.cache  # one wrapper per viewer, so that FastAPI resolves it once per request
def _without_auth_errors(viewer: Callable[..., Any]) -> Callable[..., Any]:
    """`viewer` answering None where it would refuse the request: a bad credential or a missing
    CSRF token stays the endpoint's to refuse (or to ignore, on a public route)."""

    @functools.wraps(viewer)  # FastAPI reads the wrapped signature and resolves its parameters
    async def viewer_or_none(*args: Any, **kwargs: Any) -> Any:
        try:
            return await viewer(*args, **kwargs)
        except (Unauthorized, Forbidden):
            return None

    # Not the refusals functools.wraps copied from `viewer`: this one answers None instead.
    return declares(credentials="optional")(viewer_or_none)


def rate_limit(name: str, *, viewer: Callable[..., Any] | None = None) -> DependsMarker:
    """Every request counts; per user when `viewer` returns one, else per client address."""
    if viewer is None:
        @declares(429)
        async def per_address(request: Request) -> None:
            await _charge(request, name, f"ip:{client_address(request)}")

        return Depends(per_address)

    @declares(429)
    async def per_user(request: Request,
                       user: Annotated[Any, Depends(_without_auth_errors(viewer))]) -> None:
        subject = f"user:{user.id}" if user is not None else f"ip:{client_address(request)}"
        await _charge(request, name, subject)

    return Depends(per_user)


def limit_failures(name: str) -> DependsMarker:
    """Only requests ending in 401 count, per client address (logging in); once the quota is spent,
    even a request that would succeed is refused."""

    @declares(429)
    async def failures_per_address(request: Request) -> AsyncIterator[None]:
        limiter = _limiter(request)
        if limiter is None:
            yield
            return
        subject = f"ip:{client_address(request)}"
        # Every attempt holds a unit of the quota while it runs, so that concurrent attempts cannot
        # all pass a check made before any of them has failed; all but failures give it back.
        quota = await limiter.hit(name, subject)
        _record(request, quota)
        record_rate_limit(name, allowed=quota.allowed)
        if not quota.allowed:
            raise _refuse(quota)
        try:
            yield
        except Unauthorized:
            raise  # a failed login keeps its unit: that is what this quota counts
        except Exception:
            _record(request, await limiter.refund(name, subject))
            raise
        _record(request, await limiter.refund(name, subject))

    # "function": the unit is given back before the response is sent, so its headers are right.
    return Depends(failures_per_address, scope="function")
