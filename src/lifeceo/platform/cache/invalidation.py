"""Invalidation messages, the record of recent invalidations, and those owed to L2 after an outage."""

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

import orjson

# PostgreSQL rejects NOTIFY payloads of 8000 bytes or more; Redis has no such limit but one
# chunking rule for both keeps the code simple.
MAX_PAYLOAD_BYTES = 7_900


@dataclass(frozen=True, slots=True)
class Invalidation:
    """What to drop, who sent it, and whether the sender already dropped it from L2."""

    origin: str
    tags: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    # False when the sender could not reach Redis: a receiver that can applies it to L2.
    l2_done: bool = True
    # Sent inside a request's transaction: the sender applies it again once it is committed.
    apply_at_origin: bool = False
    # A new L2 generation (after an outage whose invalidations could not all be replayed).
    generation: int | None = None

    def encode(self) -> bytes:
        return orjson.dumps({"o": self.origin, "t": self.tags, "k": self.keys, "l2": self.l2_done,
                             "a": self.apply_at_origin, "g": self.generation})

    @classmethod
    def decode(cls, payload: bytes | str) -> "Invalidation":
        body = orjson.loads(payload)
        return cls(origin=str(body["o"]), tags=tuple(body.get("t") or ()),
                   keys=tuple(body.get("k") or ()), l2_done=bool(body.get("l2", True)),
                   apply_at_origin=bool(body.get("a", False)), generation=body.get("g"))

    def payloads(self, max_bytes: int = MAX_PAYLOAD_BYTES) -> list[bytes]:
        """The message split into payloads of at most `max_bytes` (each tag or key is far smaller)."""
        chunks: list[bytes] = []
        tags: list[str] = []
        keys: list[str] = []
        size = len(self._with([], []).encode())
        for kind, item in [("t", tag) for tag in self.tags] + [("k", key) for key in self.keys]:
            item_size = len(orjson.dumps(item)) + 1
            if size + item_size > max_bytes and (tags or keys):
                chunks.append(self._with(tags, keys).encode())
                tags, keys, size = [], [], len(self._with([], []).encode())
            (tags if kind == "t" else keys).append(item)
            size += item_size
        if tags or keys or not chunks:
            chunks.append(self._with(tags, keys).encode())
        return chunks

    def _with(self, tags: list[str], keys: list[str]) -> "Invalidation":
        return Invalidation(self.origin, tuple(tags), tuple(keys), self.l2_done,
                            self.apply_at_origin, self.generation)


def names(keys: Iterable[str] = (), tags: Iterable[str] = ()) -> list[str]:
    """Keys and tags in one namespace for InvalidationLog (a tag may look like a key)."""
    return [f"k:{key}" for key in keys] + [f"t:{tag}" for tag in tags]


class InvalidationLog:
    """Remembers when each recent key or tag was invalidated, so that a load which overlapped an
    invalidation does not store what it read: the value may predate the write."""

    def __init__(self, *, max_names: int = 10_000) -> None:
        self.seq = 0
        self._max_names = max_names
        self._last: OrderedDict[str, int] = OrderedDict()
        # Names forgotten to stay bounded are treated as invalidated at the newest seq forgotten.
        self._floor = 0

    def record(self, invalidated: list[str]) -> None:
        self.seq += 1
        for name in invalidated:
            self._last[name] = self.seq
            self._last.move_to_end(name)
        while len(self._last) > self._max_names:
            _, forgotten = self._last.popitem(last=False)
            self._floor = max(self._floor, forgotten)

    def record_everything(self) -> None:
        self.seq += 1
        self._last.clear()
        self._floor = self.seq

    def touched_since(self, seq: int, candidates: list[str]) -> bool:
        if self._floor > seq:
            return True
        return any(self._last.get(name, 0) > seq for name in candidates)


class PendingL2Invalidations:
    """Invalidations that could not reach Redis, replayed before L2 is trusted again. Past
    `max_items` the whole L2 generation is dropped instead of replaying them one by one."""

    def __init__(self, *, max_items: int = 10_000) -> None:
        self._max_items = max_items
        self.tags: set[str] = set()
        self.keys: set[str] = set()
        self.overflowed = False

    def __bool__(self) -> bool:
        return bool(self.tags or self.keys or self.overflowed)

    def __len__(self) -> int:
        return len(self.tags) + len(self.keys)

    def add(self, *, tags: Iterable[str] = (), keys: Iterable[str] = ()) -> None:
        if self.overflowed:
            return
        self.tags.update(tags)
        self.keys.update(keys)
        if len(self) > self._max_items:
            self.tags.clear()
            self.keys.clear()
            self.overflowed = True

    def take(self) -> tuple[list[str], list[str], bool]:
        taken = sorted(self.tags), sorted(self.keys), self.overflowed
        self.tags, self.keys, self.overflowed = set(), set(), False
        return taken

    def put_back(self, tags: list[str], keys: list[str], overflowed: bool) -> None:
        if overflowed:
            self.tags.clear()
            self.keys.clear()
            self.overflowed = True
        else:
            self.add(tags=tags, keys=keys)
