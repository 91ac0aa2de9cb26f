"""The OpenFeature provider through the real openfeature-sdk client."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason

from lifeceo.platform.flags import FlagDefinition, FlagStore, bucket
from lifeceo.platform.flags.provider import LifeceoProvider


@pytest.fixture
def client():
    store = FlagStore()
    store.replace([
        FlagDefinition("predictive-caching", enabled=True, version=3, description="warming"),
        FlagDefinition("half", enabled=True, rollout_percentage=Decimal(50)),
        FlagDefinition("beta-only", enabled=True, groups=("beta",)),
        FlagDefinition("off", enabled=False),
        FlagDefinition("killed", enabled=True, killed=True),
        FlagDefinition("later", enabled=True, starts_at=datetime.now(UTC) + timedelta(days=1)),
        FlagDefinition("experiment", enabled=True, variants=(("control", 1), ("treatment", 1))),
        FlagDefinition("loop-a", enabled=True, depends_on=("loop-b",)),
        FlagDefinition("loop-b", enabled=True, depends_on=("loop-a",)),
    ])
    api.set_provider(LifeceoProvider(lambda: store), domain="lifeceo-test")
    yield api.get_client("lifeceo-test")
    api.clear_providers()


def test_boolean_values_reasons_variants_and_metadata(client):
    assert client.get_boolean_value("predictive-caching", False, EvaluationContext()) is True
    details = client.get_boolean_details("predictive-caching", False)
    assert (details.reason, details.variant) == (Reason.STATIC, "on")
    assert details.flag_metadata["version"] == 3
    assert details.flag_metadata["description"] == "warming"
    assert client.get_boolean_details("off", True).reason == Reason.DISABLED
    killed = client.get_boolean_details("killed", True)
    assert (killed.value, killed.reason, killed.flag_metadata["lifeceo_reason"]) == (
        False, Reason.DISABLED, "killed")
    assert client.get_boolean_details("later", True).reason == Reason.TARGETING_MATCH
    assert client.get_boolean_details("later", True).value is False


def test_context_targeting_key_and_groups(client):
    beta = EvaluationContext(targeting_key="user:1", attributes={"groups": ["beta"]})
    matched = client.get_boolean_details("beta-only", False, beta)
    assert (matched.value, matched.reason) == (True, Reason.TARGETING_MATCH)
    assert client.get_boolean_value("beta-only", True, EvaluationContext("user:1")) is False
    for number in range(20):
        key = f"user:{number}"
        split = client.get_boolean_details("half", False, EvaluationContext(key))
        assert split.reason == Reason.SPLIT
        assert split.value is (bucket("half", key) < 5_000)


def test_string_values_are_the_variant(client):
    seen = {client.get_string_value("experiment", "none", EvaluationContext(f"user:{n}"))
            for n in range(40)}
    assert seen == {"control", "treatment"}
    assert client.get_string_value("off", "none") == "off"


def test_errors_return_the_default(client):
    missing = client.get_boolean_details("no-such-flag", True)
    assert (missing.value, missing.reason, missing.error_code) == (
        True, Reason.ERROR, ErrorCode.FLAG_NOT_FOUND)
    cycle = client.get_boolean_details("loop-a", True)
    assert (cycle.value, cycle.reason) == (True, Reason.ERROR)
    number = client.get_integer_details("predictive-caching", 7)
    assert (number.value, number.error_code) == (7, ErrorCode.TYPE_MISMATCH)


async def test_async_evaluation(client):
    assert await client.get_boolean_value_async("predictive-caching", False) is True


def test_the_default_provider_reads_the_installed_store():
    from lifeceo.platform import flags

    store = FlagStore()
    store.replace([FlagDefinition("installed", enabled=True)])
    flags.install(store)
    try:
        api.set_provider(LifeceoProvider(), domain="installed")
        assert api.get_client("installed").get_boolean_value("installed", False) is True
    finally:
        flags.uninstall(store)
        api.clear_providers()


def test_a_malformed_groups_attribute_is_no_group(client):
    context = EvaluationContext("user:1", {"groups": 5})
    assert client.get_boolean_details("beta-only", True, context).reason == Reason.TARGETING_MATCH
    assert client.get_boolean_value("beta-only", True, context) is False
    assert client.get_boolean_value("beta-only", False,
                                    EvaluationContext("user:1", {"groups": "beta"})) is True
