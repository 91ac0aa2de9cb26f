"""The named rate-limit policies, their quotas read once from the settings."""

from dataclasses import dataclass

import limits

from lifeceo.errors import LifeceoError
from lifeceo.settings import Settings

# Each name has a `ratelimit_<name>` setting in the `limits` notation ("100/minute").
POLICY_NAMES = ("api", "auth", "registration", "password_reset", "uploads", "content", "events",
                "follows", "rum")
# Brute force and abuse protection: while Redis is down they give each process only its share of
# the quota, so that the deployment never admits more than the policy.
SECURITY_POLICIES = frozenset({"auth", "registration", "password_reset"})


@dataclass(frozen=True)
class Policy:
    name: str
    item: limits.RateLimitItem

    @property
    def quota(self) -> int:
        return self.item.amount

    @property
    def window_seconds(self) -> int:
        return self.item.get_expiry()


def parse_policy(name: str, value: str) -> Policy:
    """One policy from its setting; a malformed value stops the start, never a request."""
    try:
        items = limits.parse_many(value)
    except ValueError:
        items = []
    # `limits` accepts "5/minute;100/hour", but a policy has one quota and one window.
    if len(items) != 1:
        raise LifeceoError(f"LIFECEO_RATELIMIT_{name.upper()}={value!r} is not one rate limit "
                           "such as '100/minute' or '5/15minutes'")
    return Policy(name, items[0])


def policies_from(settings: Settings) -> dict[str, Policy]:
    return {name: parse_policy(name, getattr(settings, f"ratelimit_{name}"))
            for name in POLICY_NAMES}


def limits_enabled(settings: Settings) -> bool:
    """LIFECEO_RATELIMIT_ENABLED (or Settings(ratelimit_enabled=...)) when given; otherwise on,
    except in the test environment, whose suite registers hundreds of users from one address."""
    if "ratelimit_enabled" in settings.model_fields_set:
        return settings.ratelimit_enabled
    return settings.env != "test"
