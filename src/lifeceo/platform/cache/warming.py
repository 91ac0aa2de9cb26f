"""Which keys are hot (recent reads, decayed at every warm run) and how to recompute them."""

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

Compute = Callable[[], Awaitable[Any]]
# Refresh a hot key when less than this fraction of its TTL is left (60 s of a 300 s feed):
# the warm-cache job runs every few minutes, so it must look that far ahead.
WARM_AHEAD_FRACTION = 0.2
# A key read fewer times than this (decayed) is not worth a computation nobody may read: the
# platform this re-implements warmed keys nobody read.
MIN_ACCESSES = 2.0


@dataclass(slots=True)
class HotKey:
    refresh: Compute
    ttl: float
    tags: tuple[str, ...]
    accesses: float = 0.0


class HotKeys:
    """At most `max_keys` keys, the least recently read forgotten first."""

    def __init__(self, *, max_keys: int = 10_000) -> None:
        self._max_keys = max_keys
        self._keys: OrderedDict[str, HotKey] = OrderedDict()

    def __len__(self) -> int:
        return len(self._keys)

    def touch(self, key: str, refresh: Compute, *, ttl: float, tags: tuple[str, ...]) -> None:
        hot = self._keys.get(key)
        if hot is None:
            hot = self._keys[key] = HotKey(refresh, ttl, tags)
            if len(self._keys) > self._max_keys:
                self._keys.popitem(last=False)
        else:
            hot.refresh, hot.ttl, hot.tags = refresh, ttl, tags
            self._keys.move_to_end(key)
        hot.accesses += 1

    def hottest(self, *, min_accesses: float = MIN_ACCESSES,
                namespace: str | None = None) -> list[tuple[str, HotKey]]:
        """Hot keys, hottest first; of one namespace (the key up to its first colon) if given."""
        hot = [(key, entry) for key, entry in self._keys.items() if entry.accesses >= min_accesses
               and (namespace is None or key.partition(":")[0] == namespace)]
        return sorted(hot, key=lambda item: -item[1].accesses)

    def decay(self) -> None:
        """Halve every count, so that hotness means recent reads; forget keys gone cold."""
        for key in [key for key, entry in self._keys.items() if entry.accesses < 0.25]:
            del self._keys[key]
        for entry in self._keys.values():
            entry.accesses /= 2
