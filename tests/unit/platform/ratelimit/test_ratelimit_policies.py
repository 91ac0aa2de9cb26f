import pytest

from lifeceo.errors import LifeceoError
from lifeceo.platform.ratelimit.policies import limits_enabled, parse_policy, policies_from
from lifeceo.settings import Settings


def test_default_policies_are_the_reference_numbers():
    policies = policies_from(Settings())
    assert {name: (policy.quota, policy.window_seconds) for name, policy in policies.items()} == {
        "api": (100, 60),
        "auth": (5, 900),
        "registration": (3, 3600),
        "password_reset": (3, 3600),
        "uploads": (10, 900),
        "content": (100, 60),
        "events": (10, 86_400),
        "follows": (20, 3600),
        "rum": (60, 60),
    }


def test_each_policy_comes_from_its_setting(monkeypatch):
    monkeypatch.setenv("LIFECEO_RATELIMIT_API", "20 per 30 seconds")
    policies = policies_from(Settings(ratelimit_follows="7/day"))
    assert (policies["api"].quota, policies["api"].window_seconds) == (20, 30)
    assert (policies["follows"].quota, policies["follows"].window_seconds) == (7, 86_400)


@pytest.mark.parametrize("value", ["", "often", "5/fortnight", "5/minute;100/hour"])
def test_a_malformed_policy_is_refused_with_its_setting_named(value):
    with pytest.raises(LifeceoError, match="LIFECEO_RATELIMIT_UPLOADS"):
        parse_policy("uploads", value)


def test_limits_are_off_in_the_test_environment_unless_switched_on(monkeypatch):
    monkeypatch.delenv("LIFECEO_RATELIMIT_ENABLED", raising=False)
    assert not limits_enabled(Settings(env="test"))
    assert limits_enabled(Settings(env="test", ratelimit_enabled=True))
    assert limits_enabled(Settings(env="development"))
    assert not limits_enabled(Settings(env="development", ratelimit_enabled=False))
    monkeypatch.setenv("LIFECEO_RATELIMIT_ENABLED", "true")
    assert limits_enabled(Settings(env="test"))
