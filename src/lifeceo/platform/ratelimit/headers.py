"""The `RateLimit` and `RateLimit-Policy` headers (draft-ietf-httpapi-ratelimit-headers) on every
response of a limited route, and `Retry-After` on the refusals, e.g.

    RateLimit-Policy: "api";q=100;w=60, "content";q=100;w=60
    RateLimit: "api";r=37;t=12, "content";r=99;t=60
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lifeceo.platform.ratelimit.dependencies import STATE_KEY
from lifeceo.platform.ratelimit.limiter import Quota


def policy_header(quotas: list[Quota]) -> str:
    return ", ".join(f'"{quota.policy.name}";q={quota.policy.quota};w={quota.policy.window_seconds}'
                     for quota in quotas)


def ratelimit_header(quotas: list[Quota]) -> str:
    return ", ".join(f'"{quota.policy.name}";r={quota.remaining};t={quota.reset_seconds}'
                     for quota in quotas)


def retry_after(quotas: list[Quota]) -> int | None:
    """Seconds until every refusing policy has room again; None if none refused."""
    refused = [max(1, quota.reset_seconds) for quota in quotas if not quota.allowed]
    return max(refused) if refused else None


def _shared_cacheable(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(key == b"cache-control" and b"public" in value.lower() for key, value in headers)


class RateLimitHeadersMiddleware:
    """Adds the headers from the quotas the route's dependencies recorded (pure ASGI, so that the
    429 made by the exception handler gets them too). A response that Varnish or any shared cache
    may serve to others gets no per-client `RateLimit`, so this must wrap the cache policy."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_headers(message: Message) -> None:
            quotas: dict[str, Quota] = state.get(STATE_KEY) or {}
            if message["type"] == "http.response.start" and quotas:
                recorded = list(quotas.values())
                headers = list(message.get("headers", ()))
                headers.append((b"ratelimit-policy", policy_header(recorded).encode()))
                if not _shared_cacheable(headers):
                    headers.append((b"ratelimit", ratelimit_header(recorded).encode()))
                seconds = retry_after(recorded)
                if seconds is not None and message["status"] == 429:
                    headers.append((b"retry-after", str(seconds).encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
