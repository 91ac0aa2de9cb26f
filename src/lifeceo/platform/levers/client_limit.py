"""The lever `client_limit`: one client (an address or a user) also counts against a stricter
quota for a while; counted through Redis where it is configured, as every policy is."""

import re

from lifeceo.errors import Conflict, LifeceoError, Unprocessable
from lifeceo.platform.ratelimit import RateLimiter
from lifeceo.platform.ratelimit.policies import parse_policy

# The subjects the rate limiter counts: "ip:<address>" and "user:<id>".
SUBJECT = re.compile(r"^(ip:[0-9A-Fa-f.:]{2,45}|user:[0-9]{1,19})$")
POLICY = "tightened"


class ClientLimit:
    name = "client_limit"

    def __init__(self, *, rate_limiter: RateLimiter | None, max_clients: int) -> None:
        self._rate_limiter = rate_limiter
        self.max_clients = max_clients

    def check(self, target: str, value: str) -> str:
        if not SUBJECT.match(target):
            raise Unprocessable("A client is 'ip:<address>' or 'user:<id>'.")
        try:
            policy = parse_policy(POLICY, value)
        except LifeceoError:
            raise Unprocessable("The value is one rate limit such as '10/minute'.") from None
        if policy.quota < 1:
            raise Unprocessable("A tightened quota admits at least one request.")
        if self._rate_limiter is None:
            raise Conflict("Rate limits are off on this deployment.")
        tightened = self._rate_limiter.tightened()
        if target not in tightened and len(tightened) >= self.max_clients:
            raise Conflict(f"{self.max_clients} clients are tightened already; release one.")
        return value

    def apply(self, target: str, value: str, until: float) -> None:
        if self._rate_limiter is not None:
            self._rate_limiter.tighten(target, parse_policy(POLICY, value), until=until)

    def release(self, target: str) -> None:
        if self._rate_limiter is not None:
            self._rate_limiter.loosen(target)

    def state(self) -> dict:
        tightened = self._rate_limiter.tightened() if self._rate_limiter else {}
        return {subject: {"quota": policy.quota, "window_seconds": policy.window_seconds,
                          "until": round(until, 3)}
                for subject, (policy, until) in sorted(tightened.items())}
