"""The lever `client_limit`: one client (an address or a user) also counts against a stricter
quota for a while; counted through Redis where it is configured, as every policy is."""

import re
import time

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
        if (target not in self._active()
                and len(self._active()) >= self.max_clients):
            raise Conflict(f"{self.max_clients} clients are tightened already; release one.")
        return value

    def _active(self) -> dict:
        now = time.time()
        tightened = self._rate_limiter.tightened if self._rate_limiter else {}
        for subject in [subject for subject, (_, until) in tightened.items() if until <= now]:
            del tightened[subject]
        return tightened

    def apply(self, target: str, value: str, until: float) -> None:
        if self._rate_limiter is not None:
            self._rate_limiter.tightened[target] = (parse_policy(POLICY, value), until)

    def release(self, target: str) -> None:
        if self._rate_limiter is not None:
            self._rate_limiter.tightened.pop(target, None)

    def state(self) -> dict:
        return {subject: {"quota": policy.quota, "window_seconds": policy.window_seconds,
                          "until": round(until, 3)}
                for subject, (policy, until) in sorted(self._active().items())}
