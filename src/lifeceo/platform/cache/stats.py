"""Counters per namespace and tier, and hit ratios over sliding windows with a minimum sample."""

import time
from collections import Counter, deque
from collections.abc import Callable

# The ratios reported; the monitor's `low_cache_hit_rate` reads the 5-minute one.
WINDOWS_SECONDS = {"1m": 60, "5m": 300}
TIERS = ("l1", "l2")
EVENTS = ("hits", "misses", "sets", "evictions", "errors")


def namespace_of(key: str) -> str:
    """`posts:feed:42:20:` -> `posts`."""
    return key.partition(":")[0]


class HitWindow:
    """Lookups and hits in one-second buckets for the longest window."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._span = max(WINDOWS_SECONDS.values())
        self._buckets: deque[list[int]] = deque()  # [second, lookups, hits]

    def record(self, *, hit: bool) -> None:
        second = int(self._clock())
        if not self._buckets or self._buckets[-1][0] != second:
            self._buckets.append([second, 0, 0])
            while self._buckets[0][0] <= second - self._span:
                self._buckets.popleft()
        bucket = self._buckets[-1]
        bucket[1] += 1
        bucket[2] += hit

    def counts(self, seconds: int) -> tuple[int, int]:
        since = int(self._clock()) - seconds
        lookups = hits = 0
        for second, bucket_lookups, bucket_hits in self._buckets:
            if second > since:
                lookups += bucket_lookups
                hits += bucket_hits
        return lookups, hits

    def ratios(self, min_samples: int) -> dict[str, dict[str, float | int | None]]:
        """Per window: samples and hit ratio, None below `min_samples` (0 of 0 is not 0 %)."""
        report: dict[str, dict[str, float | int | None]] = {}
        for name, seconds in WINDOWS_SECONDS.items():
            lookups, hits = self.counts(seconds)
            ratio = round(hits / lookups, 4) if lookups >= max(min_samples, 1) else None
            report[name] = {"samples": lookups, "hit_ratio": ratio}
        return report


class CacheStats:
    """A lookup is a hit when the caller got a value without computing it: from L1, from L2, or
    by joining another caller's computation of the same key (single-flight)."""

    def __init__(self, *, min_samples: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.min_samples = min_samples
        self._clock = clock
        self.reset()

    def reset(self) -> None:
        """Start counting afresh (in place: the tiers hold a reference to this object)."""
        self._counters: Counter[tuple[str, str, str]] = Counter()
        self._coalesced: Counter[str] = Counter()
        # Cumulative lookups and hits per namespace, which the metrics history diffs.
        self._lookups: Counter[str] = Counter()
        self._hits: Counter[str] = Counter()
        self._overall = HitWindow(self._clock)
        self._windows: dict[str, HitWindow] = {}

    def count(self, namespace: str, tier: str, event: str, n: int = 1) -> None:
        self._counters[namespace, tier, event] += n

    def lookup(self, namespace: str, *, hit: bool, coalesced: bool = False) -> None:
        if coalesced:
            self._coalesced[namespace] += 1
        self._lookups[namespace] += 1
        if hit:
            self._hits[namespace] += 1
        self._overall.record(hit=hit)
        window = self._windows.get(namespace)
        if window is None:
            window = self._windows[namespace] = HitWindow(self._clock)
        window.record(hit=hit)

    def lookup_totals(self) -> dict[str, tuple[int, int]]:
        """Per namespace: lookups and hits since the last reset."""
        return {ns: (lookups, self._hits[ns]) for ns, lookups in self._lookups.items()}

    def hit_ratio(self, window: str = "5m", namespace: str | None = None) -> float | None:
        source = self._overall if namespace is None else self._windows.get(namespace)
        if source is None:
            return None
        return source.ratios(self.min_samples)[window]["hit_ratio"]

    def snapshot(self) -> dict[str, object]:
        namespaces = sorted({ns for ns, _, _ in self._counters} | set(self._windows))
        return {
            "min_samples": self.min_samples,
            "windows": self._overall.ratios(self.min_samples),
            "namespaces": {ns: self._namespace(ns) for ns in namespaces},
        }

    def _namespace(self, ns: str) -> dict[str, object]:
        window = self._windows.get(ns) or HitWindow(self._clock)
        return {
            "tiers": {tier: {event: self._counters[ns, tier, event] for event in EVENTS}
                      for tier in TIERS},
            "coalesced": self._coalesced[ns],
            "windows": window.ratios(self.min_samples),
        }
