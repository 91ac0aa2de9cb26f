"""The lever `breaker`: hold the Redis circuit breaker of the cache, or the rate limiter's
fallback to counting per process, open or closed."""

from lifeceo.errors import Conflict, Unprocessable
from lifeceo.platform.cache import Cache
from lifeceo.platform.cache.breaker import BreakerState
from lifeceo.platform.ratelimit import RateLimiter

TARGETS = ("cache", "ratelimit")
VALUES = ("open", "closed")


class BreakerHold:
    name = "breaker"

    def __init__(self, *, cache: Cache, rate_limiter: RateLimiter | None) -> None:
        self._cache = cache
        self._rate_limiter = rate_limiter

    def check(self, target: str, value: str) -> str:
        if target not in TARGETS or value not in VALUES:
            raise Unprocessable(f"The breaker lever's target is one of {list(TARGETS)}, its "
                                f"value one of {list(VALUES)}.")
        if not self._redis_configured(target):
            # As redis_outage refuses: without Redis there is no breaker to hold.
            raise Conflict(f"The {target} has no Redis on this deployment: no breaker to hold.")
        return value

    def _redis_configured(self, target: str) -> bool:
        if target == "cache":
            return self._cache.redis_pool is not None
        return self._rate_limiter is not None and self._rate_limiter.redis_configured

    # A process configured without Redis (another deployment's settings) does nothing.
    def apply(self, target: str, value: str, until: float) -> None:
        if target == "cache":
            self._cache.hold_l2(BreakerState(value), until=until)
        elif self._rate_limiter is not None:
            self._rate_limiter.hold(BreakerState(value), until=until)

    def release(self, target: str) -> None:
        if target == "cache":
            self._cache.release_l2()
        elif self._rate_limiter is not None:
            self._rate_limiter.hold(None)

    def state(self) -> dict:
        limiter = self._rate_limiter
        return {
            "cache": {"state": self._cache.l2_state, "held": self._cache.l2_held},
            "ratelimit": ({"state": "not_configured", "held": None}
                          if limiter is None or not limiter.redis_configured else
                          {"state": "shared" if limiter.shared else "local",
                           "held": None if limiter.held is None else limiter.held.value}),
        }
