"""The per-process tier: serialised entries bounded by count and by the memory they occupy, with
TTL and LRU order."""

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from sys import getsizeof

# CPython's OrderedDict links each key in a node of four words (Objects/odictobject.c) that
# sys.getsizeof(the dict) does not count.
_ORDER_NODE_BYTES = 32


@dataclass(slots=True)
class L1Entry:
    data: bytes
    expires_at: float
    tags: tuple[str, ...]
    size: int


class L1Store:
    """An LRU map of key -> JSON bytes. Values are kept serialised: no caller can mutate what
    another caller reads.

    `memory_bytes` is the memory the store occupies, as sys.getsizeof reports its objects: each
    entry's key, value, tags and the entry itself, the tag index and the tables of both maps;
    within 10 % of what tracemalloc measures (tests/unit/platform/cache/test_cache_l1.py). A
    store that counted only key + value reported 5.9 MB for 20,000 entries while its process
    grew by 104 MB, mostly orjson's buffers (see set)."""

    def __init__(self, *, max_entries: int, max_bytes: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._clock = clock
        self._entries: OrderedDict[str, L1Entry] = OrderedDict()
        self._by_tag: dict[str, set[str]] = {}
        self._entry_bytes = 0
        self._index_bytes = 0

    @property
    def memory_bytes(self) -> int:
        return (self._entry_bytes + self._index_bytes + getsizeof(self._entries)
                + getsizeof(self._by_tag))

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
        # A copy of the exact length: orjson.dumps returns bytes in a buffer of at least 4 KiB
        # (orjson 3.13: 4,098 bytes allocated for a 235-byte document), which the store kept.
        data = memoryview(data).tobytes()
        entry = L1Entry(data, self._clock() + ttl, tuple(tags), 0)
        entry.size = entry_size(key, entry)
        if entry.size > self.max_bytes or self.max_entries <= 0:
            return []
        self._entries[key] = entry
        self._entry_bytes += entry.size
        for tag in entry.tags:
            keys = self._by_tag.get(tag)
            if keys is None:
                keys = self._by_tag[tag] = set()
                self._index_bytes += getsizeof(keys)
            before = getsizeof(keys)
            keys.add(key)
            self._index_bytes += getsizeof(keys) - before
        evicted = []
        while self._entries and (len(self._entries) > self.max_entries
                                 or self.memory_bytes > self.max_bytes):
            oldest = next(iter(self._entries))
            self.delete(oldest)
            evicted.append(oldest)
        return evicted

    def delete(self, key: str) -> bool:
        entry = self._entries.pop(key, None)
        if entry is None:
            return False
        self._entry_bytes -= entry.size
        for tag in entry.tags:
            keys = self._by_tag.get(tag)
            if keys is not None:
                keys.discard(key)  # a set keeps its table when it shrinks: nothing freed
                if not keys:
                    self._index_bytes -= getsizeof(keys)
                    del self._by_tag[tag]
        return True

    def drop_tags(self, tags: Iterable[str]) -> int:
        dropped = 0
        for tag in tags:
            for key in list(self._by_tag.get(tag, ())):
                dropped += self.delete(key)
        return dropped

    def keys(self) -> list[str]:
        return list(self._entries)

    def clear(self) -> None:
        self._entries.clear()
        self._by_tag.clear()
        self._entry_bytes = self._index_bytes = 0

    def _live(self, key: str) -> L1Entry | None:
        entry = self._entries.get(key)
        if entry is not None and entry.expires_at <= self._clock():
            self.delete(key)
            return None
        return entry


def entry_size(key: str, entry: L1Entry) -> int:
    """The memory of one entry's own objects and its place in the LRU order (the tag index
    and the maps' tables are counted by the store)."""
    return (getsizeof(key) + getsizeof(entry.data) + getsizeof(entry)
            + getsizeof(entry.expires_at) + getsizeof(entry.tags)
            + sum(getsizeof(tag) for tag in entry.tags) + _ORDER_NODE_BYTES)
