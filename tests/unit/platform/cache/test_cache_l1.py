import gc
import tracemalloc

import orjson

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


def _document(n: int) -> bytes:
    """A post as the API serialises it, through orjson as the cache does."""
    return orjson.dumps({"id": n, "author": {"username": f"user{n % 97}", "display_name": "Ana"},
                         "body": "Clases de tango para principiantes " * (1 + n % 5),
                         "tags": ["tango", "milonga"], "visibility": "public", "like_count": n})


def test_accounted_bytes_are_the_memory_the_entries_occupy():
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        store = L1Store(max_entries=100_000, max_bytes=1 << 30)
        for n in range(3000):
            store.set(f"posts:post:{n}", _document(n), ttl=60,
                      tags=[f"post:{n}", f"user:{n % 97}"])
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert 0.8 * held <= store.memory_bytes <= 1.2 * held, (store.memory_bytes, held)


def test_byte_bound_evicts_the_least_recently_used_and_is_never_exceeded():
    probe = L1Store(max_entries=100, max_bytes=1 << 20)
    for n in range(10):
        probe.set(f"k{n}", _document(n), ttl=60, tags=[f"t{n}"])
    store = L1Store(max_entries=100, max_bytes=probe.memory_bytes)
    evicted = []
    for n in range(20):
        evicted += store.set(f"k{n}", _document(n), ttl=60, tags=[f"t{n}"])
        assert store.memory_bytes <= store.max_bytes
    assert evicted[:3] == ["k0", "k1", "k2"] and "k19" in store
    assert len(store) + len(evicted) == 20


def test_replacing_or_dropping_entries_releases_their_bytes():
    store = L1Store(max_entries=100, max_bytes=1 << 20)
    store.set("k1", b"x" * 1000, ttl=60, tags=["a", "b"])
    store.set("k2", b"x" * 1000, ttl=60, tags=["a"])
    both = store.memory_bytes
    store.set("k1", b"x", ttl=60, tags=["a", "b"])  # replacing an entry releases its old bytes
    assert both - store.memory_bytes >= 999
    assert store.drop_tags(["a"]) == 2
    assert len(store) == 0 and store.memory_bytes < both - 2000


def test_values_are_kept_at_their_own_length_not_orjsons_buffer():
    store = L1Store(max_entries=10, max_bytes=1 << 20)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        data = orjson.dumps({"id": 1})
        store.set("k", data, ttl=60)
        del data
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert store.get("k") == b'{"id":1}'
    assert held < 1024, held


def test_entries_expire_after_their_ttl():
    clock = FakeClock()
    store = L1Store(max_entries=10, max_bytes=1 << 20, clock=clock)
    store.set("k", b"v", ttl=5)
    clock.now += 4.9
    assert store.get("k") == b"v"
    assert round(store.remaining_seconds("k"), 3) == 0.1
    clock.now += 0.1
    assert store.get("k") is None
    assert len(store) == 0


def test_drop_tags_removes_every_entry_with_the_tag_and_only_those():
    store = L1Store(max_entries=10, max_bytes=1 << 20)
    store.set("feed:1", b"a", ttl=60, tags=["user:1", "feed"])
    store.set("feed:2", b"b", ttl=60, tags=["user:2", "feed"])
    store.set("profile:1", b"c", ttl=60, tags=["user:1"])
    assert store.drop_tags(["user:1"]) == 2
    assert store.get("feed:2") == b"b"
    assert store.get("feed:1") is None and store.get("profile:1") is None
    assert store.drop_tags(["feed"]) == 1
    assert len(store) == 0
