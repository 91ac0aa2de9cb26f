"""The counting itself, in memory, on a clock the test moves."""

import limits.aio.storage.memory
import limits.aio.strategies
import pytest

from lifeceo.platform.ratelimit import limiter as limiter_module
from lifeceo.platform.ratelimit.headers import policy_header, ratelimit_header, retry_after
from lifeceo.platform.ratelimit.limiter import RateLimiter
from lifeceo.platform.ratelimit.policies import parse_policy

# The start of a minute: the in-memory windows are aligned on multiples of their length.
START = 29_000_000 * 60.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fake = Clock()
    for module in (limits.aio.storage.memory, limits.aio.strategies, limiter_module):
        monkeypatch.setattr(module, "time", fake)
    return fake


@pytest.fixture
def limiter() -> RateLimiter:
    return RateLimiter({"api": parse_policy("api", "10/minute")}, redis_url=None)


async def allowed(limiter: RateLimiter, subject: str, attempts: int) -> int:
    return sum([(await limiter.hit("api", subject)).allowed for _ in range(attempts)])


async def test_the_previous_window_still_counts_in_proportion_to_its_overlap(clock, limiter):
    assert await allowed(limiter, "ip:a", 15) == 10
    # A quarter into the next minute, three quarters of the previous one's 10 still count: a
    # fixed window would allow 10 again here.
    clock.now = START + 75
    assert await allowed(limiter, "ip:a", 10) == 3
    # Three quarters into it, the previous minute's 10 weigh a quarter: 2.5 + 3 leave 5.
    clock.now = START + 105
    assert await allowed(limiter, "ip:a", 10) == 5
    # Once a whole window has passed without requests, nothing is left of them.
    clock.now = START + 240
    assert await allowed(limiter, "ip:a", 12) == 10


async def test_a_refused_request_is_not_counted_and_clients_are_apart(clock, limiter):
    assert await allowed(limiter, "ip:a", 10) == 10
    refused = await limiter.hit("api", "ip:a")
    assert not refused.allowed and refused.remaining == 0
    # Seconds until the minute's counter lets one more through.
    clock.now = START + 20
    assert 0 < (await limiter.hit("api", "ip:a")).reset_seconds <= 60
    assert (await limiter.hit("api", "user:1")).remaining == 9


async def test_a_refund_gives_one_unit_back(clock, limiter):
    for _ in range(3):
        await limiter.hit("api", "ip:a")
    quota = await limiter.refund("api", "ip:a")
    assert quota.allowed and quota.remaining == 8


async def test_headers_follow_the_ietf_draft(clock, limiter):
    api = await limiter.hit("api", "ip:a")
    other = RateLimiter({"content": parse_policy("content", "2/hour")}, redis_url=None)
    await other.hit("content", "ip:a")
    await other.hit("content", "ip:a")
    content = await other.hit("content", "ip:a")
    assert policy_header([api, content]) == '"api";q=10;w=60, "content";q=2;w=3600'
    assert ratelimit_header([api, content]) == (
        f'"api";r=9;t={api.reset_seconds}, "content";r=0;t={content.reset_seconds}')
    assert retry_after([api]) is None
    assert retry_after([api, content]) == max(1, content.reset_seconds)
