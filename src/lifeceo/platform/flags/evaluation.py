"""Pure flag evaluation: enabled and kill switch, schedule, groups, rollout, dependencies.

Buckets are a stable hash of (flag key, targeting key) over 10,000 buckets, and N % admits
exactly the buckets below N x 100: 80 % admits 8,000 of them, never 8,100 (the original admitted
81 of 100), and raising the percentage only ever adds buckets, so nobody loses a feature that a
larger rollout still includes. Everything a result can be is built once per definition, so an
evaluation allocates nothing."""

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from hashlib import blake2b

from lifeceo.platform.flags.metrics import EVALUATIONS

BUCKETS = 10_000
# Dependencies deeper than this are taken for a cycle (the service refuses cycles on write).
MAX_DEPENDENCY_DEPTH = 8
ON, OFF = "on", "off"
NO_GROUPS: frozenset[str] = frozenset()
# Rollout answers remembered per flag and targeting key: the hash is most of an evaluation's
# cost and a request asks about the same caller many times. Emptied when full: 4,096 short
# strings per flag is well under a megabyte.
ADMITTED_CACHE_ENTRIES = 4096


class Reason(StrEnum):
    """Why a flag came out as it did; the OpenFeature reason is derived from it."""

    STATIC = "static"  # on for everyone: no schedule, groups, rollout or dependencies
    TARGETING_MATCH = "targeting_match"  # on: the caller's groups, schedule or dependencies
    SPLIT = "split"  # on or off by the caller's rollout bucket
    KILLED = "killed"
    DISABLED = "disabled"
    SCHEDULE = "schedule"  # off: before starts_at or from ends_at
    GROUP = "group"  # off: the caller is in none of the flag's groups
    DEPENDENCY = "dependency"  # off: a flag it depends on is off for the caller
    UNKNOWN = "unknown"  # no such flag: the caller's default
    ERROR = "error"  # a dependency cycle: off


def bucket(flag_key: str, targeting_key: str) -> int:
    """The caller's bucket for this flag, 0-9,999, the same in every process and release."""
    digest = blake2b(f"{flag_key}\x00{targeting_key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest) % BUCKETS


def admitted_buckets(percentage: Decimal | float) -> int:
    """N % admits exactly the buckets below this."""
    return round(Decimal(str(percentage)) * 100)


class Evaluation:
    """One outcome of one flag; built once per definition and shared by every evaluation.

    `hits` counts its evaluations since the store last added them to the Prometheus counter:
    under `lifeceo serve` every increment of a counter is a locked write to a shared file
    (multiprocess mode), which alone halved the evaluation rate."""

    __slots__ = ("counter", "enabled", "hits", "key", "reason", "variant", "version")

    def __init__(self, key: str, enabled: bool, variant: str, reason: Reason, version: int,
                 counter) -> None:
        self.key, self.enabled, self.variant, self.reason = key, enabled, variant, reason
        self.version = version
        self.counter = counter
        self.hits = 0

    def __repr__(self) -> str:
        return (f"Evaluation(key={self.key!r}, enabled={self.enabled}, variant={self.variant!r}, "
                f"reason={self.reason.value!r}, version={self.version})")

    def publish_hits(self) -> None:
        """Add the evaluations counted here to the Prometheus counter."""
        hits, self.hits = self.hits, 0
        if hits:
            self.counter.inc(hits)


@dataclass(frozen=True, slots=True)
class FlagDefinition:
    key: str
    description: str = ""
    enabled: bool = False
    killed: bool = False
    rollout_percentage: Decimal = Decimal(100)
    groups: tuple[str, ...] = ()
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    depends_on: tuple[str, ...] = ()
    client_visible: bool = False
    variants: tuple[tuple[str, int], ...] = ()
    version: int = 1

    @property
    def metadata(self) -> dict[str, bool | int | str]:
        return {"version": self.version, "client_visible": self.client_visible,
                "description": self.description}


def _outcome(key: str, enabled: bool, variant: str, reason: Reason, version: int) -> Evaluation:
    return Evaluation(key, enabled, variant, reason, version,
                      EVALUATIONS.labels(flag=key, variant=variant, reason=reason.value))


class CompiledFlag:
    """A definition turned into the cheapest checks and its prebuilt outcomes."""

    __slots__ = ("_admitted", "_depends_on", "_ends", "_groups", "_off", "_offs", "_ons",
                 "_schedule", "_starts", "_threshold", "_variant_bounds", "_variant_key",
                 "definition", "key", "outcomes")

    def __init__(self, definition: FlagDefinition) -> None:
        key, version = definition.key, definition.version
        self.definition = definition
        self.key = key
        self._starts = definition.starts_at.timestamp() if definition.starts_at else None
        self._ends = definition.ends_at.timestamp() if definition.ends_at else None
        self._schedule = self._starts is not None or self._ends is not None
        self._groups = frozenset(definition.groups)
        self._threshold = admitted_buckets(definition.rollout_percentage)
        self._admitted: dict[str, bool] = {}
        self._depends_on = definition.depends_on
        self._offs = {reason: _outcome(key, False, OFF, reason, version) for reason in (
            Reason.KILLED, Reason.DISABLED, Reason.SCHEDULE, Reason.GROUP, Reason.SPLIT,
            Reason.DEPENDENCY, Reason.ERROR)}
        self._off = (self._offs[Reason.KILLED] if definition.killed
                     else None if definition.enabled else self._offs[Reason.DISABLED])
        names = [name for name, _ in definition.variants] or [ON]
        on_reasons = (Reason.STATIC, Reason.TARGETING_MATCH, Reason.SPLIT)
        self._ons = {(name, reason): _outcome(key, True, name, reason, version)
                     for name in names for reason in on_reasons}
        self._variant_key = f"{key}#variant"
        self.outcomes = (*self._offs.values(), *self._ons.values())
        self._variant_bounds = _variant_bounds(definition.variants)

    def resolve(self, targeting_key: str | None, groups: frozenset[str],
                flags: Mapping[str, "CompiledFlag"], depth: int = 0) -> Evaluation:
        """This flag for this caller (uncounted: the store counts what it returns)."""
        if self._off is not None:
            return self._off
        reason = Reason.STATIC
        if self._schedule:
            now = time.time()
            if (self._starts is not None and now < self._starts) or (
                    self._ends is not None and now >= self._ends):
                return self._offs[Reason.SCHEDULE]
            reason = Reason.TARGETING_MATCH
        if self._groups:
            if self._groups.isdisjoint(groups):
                return self._offs[Reason.GROUP]
            reason = Reason.TARGETING_MATCH
        if self._threshold < BUCKETS:
            # Without a targeting key there is no bucket: a partial rollout admits nobody.
            if targeting_key is None:
                return self._offs[Reason.SPLIT]
            admitted = self._admitted.get(targeting_key)
            if admitted is None:
                if len(self._admitted) >= ADMITTED_CACHE_ENTRIES:
                    self._admitted.clear()
                admitted = self._admitted[targeting_key] = (
                    bucket(self.key, targeting_key) < self._threshold)
            if not admitted:
                return self._offs[Reason.SPLIT]
            reason = Reason.SPLIT
        if self._depends_on:
            if depth >= MAX_DEPENDENCY_DEPTH:
                return self._offs[Reason.ERROR]
            for other in self._depends_on:
                dependency = flags.get(other)
                if dependency is None:
                    return self._offs[Reason.DEPENDENCY]
                result = dependency.resolve(targeting_key, groups, flags, depth + 1)
                if not result.enabled:
                    return self._offs[Reason.ERROR if result.reason is Reason.ERROR
                                      else Reason.DEPENDENCY]
            if reason is Reason.STATIC:
                reason = Reason.TARGETING_MATCH
        return self._ons[(self._variant(targeting_key), reason)]

    def _variant(self, targeting_key: str | None) -> str:
        bounds = self._variant_bounds
        if not bounds:
            return ON
        if targeting_key is None:
            return bounds[0][1]
        position = bucket(self._variant_key, targeting_key)
        for upper, name in bounds:
            if position < upper:
                return name
        return bounds[-1][1]


def _variant_bounds(variants: Iterable[tuple[str, int]]) -> tuple[tuple[int, str], ...]:
    """Each variant's exclusive upper bucket, its share of 10,000 by weight."""
    variants = tuple(variants)
    total = sum(weight for _, weight in variants)
    if not total:
        return tuple((BUCKETS, name) for name, _ in variants[:1])
    bounds, running = [], 0
    for name, weight in variants:
        running += weight
        bounds.append((running * BUCKETS // total, name))
    return tuple(bounds)
