"""The per-process tier: serialised entries bounded by count and bytes, with TTL and LRU order."""

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(slots=True)
class L1Entry:
    data: bytes
    expires_at: float
    tags: tuple[str, ...]
    size: int


class L1Store:
    """An LRU map of key -> JSON bytes. Values are kept serialised: the byte bound is exact for the
    payload (key + value), and no caller can mutate what another caller reads."""

    def __init__(self, *, max_entries: int, max_bytes: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._clock = clock
        self._entries: OrderedDict[str, L1Entry] = OrderedDict()
        self._by_tag: dict[str, set[str]] = {}
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def get(self, key: str) -> bytes | None:
        entry = self.entry(key)
        return None if entry is None else entry.data

    def entry(self, key: str) -> L1Entry | None:
        """The live entry (counted as a use for LRU), or None."""
        entry = self._live(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def remaining_seconds(self, key: str) -> float | None:
        entry = self._live(key)
        return None if entry is None else entry.expires_at - self._clock()

    def set(self, key: str, data: bytes, *, ttl: float, tags: Iterable[str] = ()) -> list[str]:
        """Store and return the keys evicted to make room (an entry larger than the whole byte
        budget is not stored: it would evict everything and be evicted next)."""
        self.delete(key)
        size = len(key.encode()) + len(data)
        if size > self.max_bytes or self.max_entries <= 0:
            return []
        entry = L1Entry(data, self._clock() + ttl, tuple(tags), size)
        self._entries[key] = entry
        self.bytes += size
        for tag in entry.tags:
            self._by_tag.setdefault(tag, set()).add(key)
        evicted = []
        while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
            oldest = next(iter(self._entries))
            self.delete(oldest)
            evicted.append(oldest)
        return evicted

    def delete(self, key: str) -> bool:
        entry = self._entries.pop(key, None)
        if entry is None:
            return False
        self.bytes -= entry.size
        for tag in entry.tags:
            keys = self._by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_tag[tag]
        return True

    def drop_tags(self, tags: Iterable[str]) -> int:
        dropped = 0
        for tag in tags:
            for key in list(self._by_tag.get(tag, ())):
                dropped += self.delete(key)
        return dropped

    def clear(self) -> None:
        self._entries.clear()
        self._by_tag.clear()
        self.bytes = 0

    def _live(self, key: str) -> L1Entry | None:
        entry = self._entries.get(key)
        if entry is not None and entry.expires_at <= self._clock():
            self.delete(key)
            return None
        return entry
