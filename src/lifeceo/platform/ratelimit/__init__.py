"""Per-client rate limits: sliding-window counters shared through Redis, per process while it is
down, with the IETF RateLimit headers and 429 problem+json refusals."""

from lifeceo.platform.ratelimit.dependencies import limit_failures, rate_limit
from lifeceo.platform.ratelimit.headers import RateLimitHeadersMiddleware
from lifeceo.platform.ratelimit.health import ratelimit_check
from lifeceo.platform.ratelimit.limiter import Quota, RateLimiter
from lifeceo.platform.ratelimit.policies import limits_enabled, policies_from
from lifeceo.settings import Settings


def rate_limiter_for(settings: Settings) -> RateLimiter | None:
    """The application's limiter; None when rate limits are off (the dependencies then pass)."""
    if not limits_enabled(settings):
        return None
    return RateLimiter(policies_from(settings), redis_url=settings.redis_url,
                       processes=settings.ratelimit_processes or settings.workers)


__all__ = ["Quota", "RateLimitHeadersMiddleware", "RateLimiter", "limit_failures", "rate_limit",
           "rate_limiter_for", "ratelimit_check"]
