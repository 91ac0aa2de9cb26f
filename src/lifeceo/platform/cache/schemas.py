"""The admin cache report."""

from pydantic import BaseModel


class WindowRatio(BaseModel):
    samples: int
    # None below the minimum sample count: too few lookups to call it a ratio.
    hit_ratio: float | None


class TierCounters(BaseModel):
    hits: int
    misses: int
    sets: int
    evictions: int
    errors: int


class NamespaceStats(BaseModel):
    tiers: dict[str, TierCounters]
    # Lookups served by joining another caller's computation of the same key.
    coalesced: int
    windows: dict[str, WindowRatio]


class L1Report(BaseModel):
    entries: int
    bytes: int
    max_entries: int
    max_bytes: int


class L2Report(BaseModel):
    state: str
    outage_seconds: float | None
    generation: int | None
    pending_invalidations: int


class CacheReport(BaseModel):
    """One process's view: every web worker has its own L1 and counters."""

    enabled: bool
    pid: int
    l1: L1Report
    l2: L2Report
    bus: dict[str, bool]
    hot_keys: int
    min_samples: int
    windows: dict[str, WindowRatio]
    namespaces: dict[str, NamespaceStats]
