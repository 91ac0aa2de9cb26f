"""The pure parts of the fault kinds: bounds, targets, magnitudes in force, expiry, and when
chaos is armed."""

import time

import pytest

from lifeceo.errors import Conflict, Unprocessable
from lifeceo.platform.chaos.board import armed, every_kind, refusal
from lifeceo.platform.chaos.dependencies import RedisOutage
from lifeceo.platform.chaos.jobs import ColdCache
from lifeceo.platform.chaos.requests import RouteErrors
from lifeceo.platform.chaos.resources import MemoryLeak, NPlusOne
from lifeceo.settings import Settings


def test_at_least_eight_kinds_each_named_once():
    names = [fault.name for fault in every_kind(Settings())]
    assert len(names) == len(set(names)) >= 8


@pytest.mark.parametrize(("value", "target"), [("0", "all"), ("1.5", "all"), ("nan", "all"),
                                               ("x", "all"), ("0.5", "nowhere")])
def test_route_errors_refuses_shares_and_classes_it_cannot_take(value, target):
    with pytest.raises(Unprocessable):
        RouteErrors().check(target, value)


def test_a_magnitude_counts_for_its_target_or_all_until_it_expires():
    fault = RouteErrors()
    assert fault.check("posts", "0.25") == "0.25"
    fault.apply("posts", "0.25", time.time() + 60)
    assert fault.magnitude("posts") == 0.25
    assert fault.magnitude("feed") == 0
    fault.apply("all", "0.5", time.time() + 60)
    assert fault.magnitude("feed") == 0.5
    fault.apply("posts", "0.25", time.time() - 1)
    assert fault.magnitude("posts") == 0.5
    fault.expire(time.time())
    assert list(fault.active) == ["all"]
    fault.release("all")
    assert fault.state() == {}


def test_n_plus_one_repeats_a_whole_number_and_once_when_off():
    fault = NPlusOne()
    assert fault.repeats() == 1
    assert fault.check("all", "12.7") == "12"
    fault.apply("all", "12", time.time() + 60)
    assert fault.repeats() == 12


async def test_memory_leak_retains_its_rate_per_tick_and_frees_it_when_stopped():
    fault = MemoryLeak()
    fault.apply("all", "60", time.time() + 60)
    await fault.tick(time.time())
    assert fault.retained_bytes == 1024 * 1024
    fault.release("all")
    assert fault.retained_bytes == 0


def test_cold_cache_needs_a_namespace_and_redis_outage_needs_redis():
    with pytest.raises(Unprocessable):
        ColdCache().check("all", "1")
    assert ColdCache().check("posts", "1") == "1"
    with pytest.raises(Conflict):
        RedisOutage(redis_configured=False).check("all", "1")
    assert RedisOutage(redis_configured=True).check("cache", "1") == "1"


def test_chaos_is_armed_only_when_enabled_and_in_production_only_when_allowed():
    assert not armed(Settings())
    assert armed(Settings(chaos_enabled=True))
    production = {"env": "production", "secret_key": "x" * 40, "chaos_enabled": True}
    assert not armed(Settings(**production))
    assert "LIFECEO_CHAOS_ALLOW_IN_PRODUCTION" in refusal(Settings(**production))
    assert armed(Settings(**production, chaos_allow_in_production=True))
    assert refusal(Settings()) is None
