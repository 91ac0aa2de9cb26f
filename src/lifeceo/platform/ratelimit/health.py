"""Readiness: `warn` while the limits are counted per process because Redis does not answer."""

from lifeceo.platform.health.checks import Check, CheckFunction
from lifeceo.platform.ratelimit.limiter import RateLimiter


def ratelimit_check(limiter: RateLimiter) -> CheckFunction:
    async def check() -> list[Check]:
        if not limiter.redis_configured:
            return [Check("ratelimit", "storage", "component", "pass", observed_value="memory")]
        # The state the last request found; probing here would race the requests' own retries.
        if limiter.shared:
            return [Check("ratelimit", "storage", "component", "pass", observed_value="redis")]
        return [Check("ratelimit", "storage", "component", "warn", observed_value="memory",
                      output="Redis does not answer: each worker process counts alone")]

    return check
