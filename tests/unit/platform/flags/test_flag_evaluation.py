"""Flag evaluation without a database: order, reasons, exact and sticky buckets."""

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from lifeceo.platform import flags
from lifeceo.platform.flags import FlagDefinition, FlagStore, Reason, bucket
from lifeceo.platform.flags.evaluation import BUCKETS, CompiledFlag, admitted_buckets
from lifeceo.platform.flags.metrics import EVALUATIONS, UNKNOWN


def store_of(*definitions: FlagDefinition) -> FlagStore:
    store = FlagStore()
    store.replace(definitions)
    return store


def test_eighty_percent_admits_exactly_eight_thousand_of_ten_thousand_buckets():
    threshold = admitted_buckets(Decimal(80))
    assert sum(1 for position in range(BUCKETS) if position < threshold) == 8_000
    assert admitted_buckets(Decimal("12.34")) == 1_234


def test_buckets_are_stable_and_spread_evenly():
    assert bucket("predictive-caching", "user:1") == bucket("predictive-caching", "user:1")
    # Known values: a changed hash would move everyone to another bucket after an upgrade.
    assert (bucket("predictive-caching", "user:1"), bucket("a-b-testing", "visitor:abc")) == (
        5530, 6606)
    positions = [bucket("spread", f"user:{number}") for number in range(20_000)]
    assert all(0 <= position < BUCKETS for position in positions)
    # 80 % of 20,000 users: the binomial standard deviation is 57, so 400 is far outside chance.
    admitted = sum(position < 8_000 for position in positions)
    assert abs(admitted - 16_000) < 400
    # The flag key is part of the hash: a user's buckets differ between flags.
    other = [bucket("other-flag", f"user:{number}") for number in range(200)]
    assert other != positions[:200]


def test_eighty_percent_admits_the_users_whose_bucket_is_below_eight_thousand():
    store = store_of(FlagDefinition("rollout", enabled=True, rollout_percentage=Decimal(80)))
    for number in range(2_000):
        key = f"user:{number}"
        assert store.is_enabled("rollout", targeting_key=key) is (bucket("rollout", key) < 8_000)


@given(st.integers(0, 10_000), st.integers(0, 10_000),
       st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=30))
def test_raising_the_percentage_only_adds_people(low, high, keys):
    low, high = sorted((low, high))
    smaller = CompiledFlag(FlagDefinition("grow", enabled=True,
                                          rollout_percentage=Decimal(low) / 100))
    larger = CompiledFlag(FlagDefinition("grow", enabled=True,
                                         rollout_percentage=Decimal(high) / 100))
    for key in keys:
        if smaller.resolve(key, frozenset(), {}).enabled:
            assert larger.resolve(key, frozenset(), {}).enabled


def test_evaluation_order_and_reasons():
    now = datetime.now(UTC)
    base = {"key": "f", "enabled": True}
    cases = [
        (FlagDefinition(**base), {}, True, Reason.STATIC),
        (FlagDefinition(key="f", enabled=False), {}, False, Reason.DISABLED),
        # The kill switch wins over everything, even an enabled flag for its group.
        (FlagDefinition(**base, killed=True, groups=("beta",)), {"groups": {"beta"}}, False,
         Reason.KILLED),
        (FlagDefinition(**base, starts_at=now + timedelta(hours=1)), {}, False, Reason.SCHEDULE),
        (FlagDefinition(**base, ends_at=now - timedelta(seconds=1)), {}, False, Reason.SCHEDULE),
        (FlagDefinition(**base, starts_at=now - timedelta(hours=1),
                        ends_at=now + timedelta(hours=1)), {}, True, Reason.TARGETING_MATCH),
        (FlagDefinition(**base, groups=("beta",)), {"groups": {"staff"}}, False, Reason.GROUP),
        (FlagDefinition(**base, groups=("beta",)), {"groups": {"beta"}}, True,
         Reason.TARGETING_MATCH),
        # Groups come before the rollout: outside the group, the bucket does not matter.
        (FlagDefinition(**base, groups=("beta",), rollout_percentage=Decimal(100)), {}, False,
         Reason.GROUP),
        (FlagDefinition(**base, rollout_percentage=Decimal(0)), {"key": "u"}, False,
         Reason.SPLIT),
        (FlagDefinition(**base, rollout_percentage=Decimal(100)), {"key": "u"}, True,
         Reason.STATIC),
        # A partial rollout has no bucket for a caller without a targeting key.
        (FlagDefinition(**base, rollout_percentage=Decimal(50)), {}, False, Reason.SPLIT),
    ]
    for definition, context, enabled, reason in cases:
        store = store_of(definition)
        result = store.evaluate("f", targeting_key=context.get("key"),
                                groups=frozenset(context.get("groups", ())))
        assert (result.enabled, result.reason) == (enabled, reason), definition


def test_split_on_reports_split():
    store = store_of(FlagDefinition("half", enabled=True, rollout_percentage=Decimal(50)))
    reasons = {store.evaluate("half", targeting_key=f"user:{n}").reason for n in range(50)}
    assert reasons == {Reason.SPLIT}
    assert {store.is_enabled("half", targeting_key=f"user:{n}") for n in range(50)} == {True,
                                                                                      False}


def test_dependencies_come_last_and_follow_the_other_flag_for_the_same_caller():
    parent = FlagDefinition("parent", enabled=True, rollout_percentage=Decimal(50))
    child = FlagDefinition("child", enabled=True, depends_on=("parent",))
    store = store_of(parent, child)
    for number in range(200):
        key = f"user:{number}"
        result = store.evaluate("child", targeting_key=key)
        parent_on = bucket("parent", key) < 5_000
        assert result.enabled is parent_on
        assert result.reason is (Reason.TARGETING_MATCH if parent_on else Reason.DEPENDENCY)
    # A dependency on a flag that does not exist is off.
    orphan = store_of(FlagDefinition("child", enabled=True, depends_on=("gone",)))
    assert orphan.evaluate("child").reason is Reason.DEPENDENCY
    # A cycle (refused on write, but a snapshot may still hold one) is an error, not a hang.
    loop = store_of(FlagDefinition("a", enabled=True, depends_on=("b",)),
                    FlagDefinition("b", enabled=True, depends_on=("a",)))
    assert loop.evaluate("a").reason is Reason.ERROR


def test_variants_split_by_weight_and_stick_to_the_caller():
    store = store_of(FlagDefinition("exp", enabled=True,
                                    variants=(("control", 1), ("treatment", 3))))
    seen = [store.evaluate("exp", targeting_key=f"user:{n}").variant for n in range(8_000)]
    assert set(seen) == {"control", "treatment"}
    # 1:3 of 8,000: 2,000 expected, standard deviation 39.
    assert abs(seen.count("control") - 2_000) < 200
    assert [store.evaluate("exp", targeting_key=f"user:{n}").variant for n in range(50)] == \
        seen[:50]
    off = store_of(FlagDefinition("exp", enabled=False, variants=(("control", 1),)))
    assert off.evaluate("exp", targeting_key="user:1").variant == "off"


def test_unknown_flag_gives_the_default_and_counts_a_warning_metric():
    store = store_of()
    before = UNKNOWN.labels(flag="no-such-flag")._value.get()
    assert store.is_enabled("no-such-flag", True) is True
    assert store.is_enabled("no-such-flag", False) is False
    assert store.evaluate("no-such-flag") is None
    assert UNKNOWN.labels(flag="no-such-flag")._value.get() == before + 3
    # Garbage keys share one label, so that the metric stays bounded.
    assert store.is_enabled("Not A Key!" * 10, default=True) is True


def test_evaluations_are_counted_per_flag_variant_and_reason():
    store = store_of(FlagDefinition("counted", enabled=True))
    child = EVALUATIONS.labels(flag="counted", variant="on", reason="static")
    before = child._value.get()
    for _ in range(5):
        store.is_enabled("counted")
    store.evaluate("counted")
    # Counted in memory, added to the Prometheus counter when the store publishes them.
    assert child._value.get() == before
    store.publish_counts()
    assert child._value.get() == before + 6
    # A new snapshot publishes what the old one counted.
    store.is_enabled("counted")
    store.replace([FlagDefinition("counted", enabled=True, version=2)])
    assert child._value.get() == before + 7


def test_evaluation_rate_in_process():
    """Prints the figure; asserts only a floor far below it (the machine is shared)."""
    store = store_of(FlagDefinition("static-on", enabled=True),
                     FlagDefinition("rollout", enabled=True, rollout_percentage=Decimal(80)),
                     FlagDefinition("grouped", enabled=True, groups=("beta",)))
    keys = [f"user:{number}" for number in range(1_000)]
    groups = frozenset({"beta"})
    rates = {}
    for name in ("static-on", "rollout", "grouped"):
        count = 0
        started = time.perf_counter()
        for _ in range(200):
            for key in keys:
                store.is_enabled(name, targeting_key=key, groups=groups)
            count += len(keys)
        rates[name] = count / (time.perf_counter() - started)
    # Every caller new to the flag: the hash computed each time.
    fresh = [f"visitor:{number}" for number in range(100_000)]
    started = time.perf_counter()
    for key in fresh:
        store.is_enabled("rollout", targeting_key=key)
    rates["rollout, new callers"] = len(fresh) / (time.perf_counter() - started)
    print("flag evaluations per second:", {name: f"{rate:,.0f}" for name, rate in rates.items()})
    assert min(rates.values()) > 50_000


async def test_current_is_the_store_of_the_running_loop():
    here, there = FlagStore(), FlagStore()
    flags.install(here)
    thread = threading.Thread(target=lambda: asyncio.run(_install_and_read(there)))
    try:
        thread.start()
        thread.join()
        # Another application started on another loop since: this loop still finds its own.
        assert flags.current() is here
        assert _seen_there == [there]
    finally:
        flags.uninstall(here)
        flags.uninstall(there)
    assert flags.current() is not here and flags.current() is not there


_seen_there: list = []


async def _install_and_read(store: FlagStore) -> None:
    flags.install(store)
    _seen_there.append(flags.current())
