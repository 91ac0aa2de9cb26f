from lifeceo.platform.cache.stats import CacheStats, namespace_of


class FakeClock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def test_namespace_is_the_part_before_the_first_colon():
    assert namespace_of("posts:feed:42:20:") == "posts"
    assert namespace_of("trending") == "trending"


def test_no_ratio_below_the_minimum_sample_count():
    stats = CacheStats(min_samples=10, clock=FakeClock())
    assert stats.hit_ratio("1m") is None  # no traffic is not a 0 % hit rate
    for _ in range(9):
        stats.lookup("posts", hit=False)
    assert stats.hit_ratio("1m") is None
    assert stats.snapshot()["windows"]["1m"] == {"samples": 9, "hit_ratio": None}


def test_ratio_over_each_window_once_there_are_enough_samples():
    clock = FakeClock()
    stats = CacheStats(min_samples=10, clock=clock)
    for hit in [True] * 8 + [False] * 2:
        stats.lookup("posts", hit=hit)
    clock.now += 120  # out of the 1-minute window, still in the 5-minute one
    for hit in [True] * 5 + [False] * 5:
        stats.lookup("users", hit=hit)
    assert stats.hit_ratio("1m") == 0.5
    assert stats.hit_ratio("5m") == 0.65
    assert stats.hit_ratio("1m", namespace="posts") is None
    assert stats.hit_ratio("5m", namespace="posts") == 0.8
    clock.now += 300
    assert stats.hit_ratio("5m") is None


def test_counters_per_namespace_and_tier():
    stats = CacheStats(min_samples=1, clock=FakeClock())
    stats.count("posts", "l1", "hits", 3)
    stats.count("posts", "l2", "misses")
    stats.count("users", "l1", "evictions")
    stats.lookup("posts", hit=True, coalesced=True)
    report = stats.snapshot()["namespaces"]
    assert report["posts"]["tiers"]["l1"]["hits"] == 3
    assert report["posts"]["tiers"]["l2"]["misses"] == 1
    assert report["posts"]["coalesced"] == 1
    assert report["users"]["tiers"]["l1"]["evictions"] == 1
    assert report["users"]["windows"]["5m"] == {"samples": 0, "hit_ratio": None}
