from lifeceo.platform.cache.l1 import L1Store


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_least_recently_used_entry_is_evicted_first():
    store = L1Store(max_entries=2, max_bytes=10_000)
    store.set("a", b"1", ttl=60)
    store.set("b", b"2", ttl=60)
    assert store.get("a") == b"1"  # now "b" is the least recently used
    evicted = store.set("c", b"3", ttl=60)
    assert evicted == ["b"]
    assert store.get("b") is None and store.get("a") == b"1" and store.get("c") == b"3"


def test_byte_bound_counts_key_and_value_exactly():
    store = L1Store(max_entries=100, max_bytes=20)
    store.set("k1", b"12345678", ttl=60)  # 2 + 8 bytes
    assert store.bytes == 10
    store.set("k2", b"12345678", ttl=60)
    assert store.bytes == 20 and len(store) == 2
    assert store.set("k3", b"1", ttl=60) == ["k1"]
    assert store.bytes == 13
    store.set("k2", b"1", ttl=60)  # replacing an entry releases its old bytes
    assert store.bytes == 6


def test_entry_larger_than_the_budget_is_not_stored_and_evicts_nothing():
    store = L1Store(max_entries=100, max_bytes=20)
    store.set("small", b"1", ttl=60)
    assert store.set("huge", b"x" * 100, ttl=60) == []
    assert store.get("huge") is None and store.get("small") == b"1"


def test_entries_expire_after_their_ttl():
    clock = FakeClock()
    store = L1Store(max_entries=10, max_bytes=1000, clock=clock)
    store.set("k", b"v", ttl=5)
    clock.now += 4.9
    assert store.get("k") == b"v"
    assert round(store.remaining_seconds("k"), 3) == 0.1
    clock.now += 0.1
    assert store.get("k") is None
    assert len(store) == 0 and store.bytes == 0


def test_drop_tags_removes_every_entry_with_the_tag_and_only_those():
    store = L1Store(max_entries=10, max_bytes=1000)
    store.set("feed:1", b"a", ttl=60, tags=["user:1", "feed"])
    store.set("feed:2", b"b", ttl=60, tags=["user:2", "feed"])
    store.set("profile:1", b"c", ttl=60, tags=["user:1"])
    assert store.drop_tags(["user:1"]) == 2
    assert store.get("feed:2") == b"b"
    assert store.get("feed:1") is None and store.get("profile:1") is None
    assert store.drop_tags(["feed"]) == 1
    assert len(store) == 0 and store.bytes == 0
