"""The client limit lever's stricter quota in the limiter: charged once per request, with the
request policy only, and not by a request the request policy refuses."""

import time

from lifeceo.platform.ratelimit.limiter import RateLimiter
from lifeceo.platform.ratelimit.policies import parse_policy

CLIENT = "ip:203.0.113.9"


def limiter(api: str = "100/minute") -> RateLimiter:
    return RateLimiter({"api": parse_policy("api", api),
                        "content": parse_policy("content", "100/minute"),
                        "auth": parse_policy("auth", "5/minute")}, redis_url=None)


async def test_the_stricter_quota_is_charged_once_per_request_with_the_request_policy():
    limits = limiter()
    limits.tighten(CLIENT, parse_policy("tightened", "2/minute"), until=time.time() + 60)
    # Each request: the router's policy and the route's own.
    for _ in range(2):
        assert (await limits.hit("api", CLIENT)).allowed
        assert (await limits.hit("content", CLIENT)).allowed
        assert (await limits.hit("auth", CLIENT)).allowed
    refused = await limits.hit("api", CLIENT)
    assert not refused.allowed and refused.policy.name == "tightened"
    # Another client, and the route policies of the tightened one, are not held to it.
    assert (await limits.hit("api", "ip:203.0.113.10")).allowed
    assert (await limits.hit("content", CLIENT)).allowed


async def test_a_request_the_request_policy_refuses_does_not_use_the_stricter_quota():
    limits = limiter(api="1/minute")
    limits.tighten(CLIENT, parse_policy("tightened", "2/minute"), until=time.time() + 60)
    assert (await limits.hit("api", CLIENT)).allowed
    refused = await limits.hit("api", CLIENT)
    assert not refused.allowed and refused.policy.name == "api"
    # One of the stricter quota's two is left: the refused request gave its unit back.
    remaining = await limits._counted(parse_policy("tightened", "2/minute"), CLIENT, cost=0)
    assert remaining.remaining == 1


def test_tightened_clients_expire_and_are_loosened():
    limits = limiter()
    limits.tighten(CLIENT, parse_policy("tightened", "2/minute"), until=time.time() + 60)
    limits.tighten("user:7", parse_policy("tightened", "2/minute"), until=time.time() - 1)
    assert list(limits.tightened()) == [CLIENT]
    limits.loosen(CLIENT)
    assert limits.tightened() == {}
