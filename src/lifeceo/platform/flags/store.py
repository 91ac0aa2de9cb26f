"""The process's flag snapshot: evaluated from memory, reloaded whenever any process announces a
change (over the live hub: Redis pub/sub when configured, else PostgreSQL NOTIFY), and resynced
every flags_resync_seconds in case an announcement was lost."""

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Iterable

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from lifeceo.platform.flags import repository
from lifeceo.platform.flags.evaluation import (
    NO_GROUPS,
    CompiledFlag,
    Evaluation,
    FlagDefinition,
    Reason,
)
from lifeceo.platform.flags.metrics import UNKNOWN
from lifeceo.platform.pubsub import LiveHub, LiveMessage

log = structlog.get_logger(__name__)
TOPIC = "flags:changed"
# Unknown keys are counted under their own name only when they look like a key.
KEY_SHAPE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
# Evaluation counts reach the Prometheus counter this often: far below a 15 s scrape interval.
PUBLISH_COUNTS_SECONDS = 1.0


class FlagStore:
    """`evaluate` never raises and never waits: it reads the snapshot this process holds."""

    def __init__(self, *, engine: AsyncEngine | None = None,
                 publish: Callable[[LiveMessage], Awaitable[None]] | None = None) -> None:
        """Reads definitions through `engine`; `publish` tells every process of a change."""
        self._engine = engine
        self._publish = publish
        self._flags: dict[str, CompiledFlag] = {}
        self._unknown: dict[str, object] = {}
        self._reload_lock = asyncio.Lock()
        self._follower: asyncio.Task | None = None
        self._publisher: asyncio.Task | None = None
        self._listeners: list[Callable[[FlagStore], None]] = []
        self._exposure_listeners: list[Callable[[str, str, int | None], None]] = []
        self.loaded_at: float | None = None

    def on_reload(self, listener: Callable[["FlagStore"], None]) -> None:
        """Call `listener(store)` now and after every new snapshot: for switches that are
        state rather than a check per use (pausing the cache)."""
        self._listeners.append(listener)
        listener(self)

    def on_exposure(self, listener: Callable[[str, str, int | None], None]) -> None:
        """Call `listener(flag, variant, user_id)` whenever a variant is shown to someone:
        analytics records it without this package knowing analytics."""
        self._exposure_listeners.append(listener)

    def exposed(self, result: Evaluation, *, user_id: int | None) -> None:
        """The caller was shown this result; an exposure if it assigned an experiment's
        variant (never raises: a request must not fail over analytics)."""
        definition = self.definition(result.key)
        if not result.enabled or definition is None or not definition.variants:
            return
        for listener in self._exposure_listeners:
            try:
                listener(result.key, result.variant, user_id)
            except Exception:
                log.exception("feature flag exposure listener failed")

    def replace(self, definitions: Iterable[FlagDefinition]) -> None:
        """Swap in a new snapshot (one assignment: evaluations see the old or the new one)."""
        self.publish_counts()
        self._flags = {definition.key: CompiledFlag(definition) for definition in definitions}
        self.loaded_at = time.monotonic()
        for listener in self._listeners:
            try:
                listener(self)
            except Exception:  # one broken switch must not keep the others stale
                log.exception("feature flag listener failed")

    async def reload(self) -> None:
        """Read every definition from the database into a new snapshot."""
        if self._engine is None:
            return
        # Reloads in a row are serialised: the one that starts last reads the latest rows.
        async with self._reload_lock:
            async with self._engine.connect() as connection:
                definitions = await repository.all_definitions(connection)
            self.replace(definitions)

    async def announce(self, keys: list[str]) -> None:
        """After a committed change: tell every process, and reload this one's snapshot."""
        if self._publish is not None:
            try:
                await self._publish(change_message(keys))
            except Exception:  # Redis or the database hiccuped: the resync carries the change
                log.warning("feature flag change not published", flags=keys, exc_info=True)
        await self.reload()

    def definitions(self) -> list[FlagDefinition]:
        return [flag.definition for flag in self._flags.values()]

    def definition(self, key: str) -> FlagDefinition | None:
        flag = self._flags.get(key)
        return None if flag is None else flag.definition

    def evaluate(self, key: str, *, targeting_key: str | None = None,
                 groups: frozenset[str] = NO_GROUPS) -> Evaluation | None:
        """The flag for this caller, counted; None for an unknown flag (counted as such)."""
        flags = self._flags
        flag = flags.get(key)
        if flag is None:
            self._count_unknown(key)
            return None
        result = flag.resolve(targeting_key, groups, flags)
        result.hits += 1
        return result

    def is_enabled(self, key: str, default: bool = False, *, targeting_key: str | None = None,
                   groups: frozenset[str] = NO_GROUPS) -> bool:
        """Whether the flag is on for this caller; `default` for an unknown flag."""
        flag = self._flags.get(key)
        if flag is None:
            self._count_unknown(key)
            return default
        result = flag.resolve(targeting_key, groups, self._flags)
        result.hits += 1
        return result.enabled

    def publish_counts(self) -> None:
        """Add the evaluations counted since the last call to the Prometheus counter."""
        for flag in self._flags.values():
            for outcome in flag.outcomes:
                if outcome.hits:
                    outcome.publish_hits()

    def value(self, key: str, default: bool) -> bool:
        """The flag for no caller in particular, uncounted: for switches that watch it."""
        flag = self._flags.get(key)
        return default if flag is None else flag.resolve(None, NO_GROUPS, self._flags).enabled

    def _count_unknown(self, key: str) -> None:
        child = self._unknown.get(key)
        if child is None:
            label = key if KEY_SHAPE.match(key) and len(self._unknown) < 1000 else "(other)"
            child = self._unknown.setdefault(label, UNKNOWN.labels(flag=label))
            if label == key:
                log.warning("unknown feature flag evaluated; the caller's default applies",
                            flag=key)
        child.inc()

    def follow(self, hub: LiveHub, *, resync_seconds: float) -> None:
        """Reload on every announced change, and every `resync_seconds` regardless; publish
        the evaluation counts every PUBLISH_COUNTS_SECONDS."""
        self._follower = asyncio.create_task(self._follow(hub, resync_seconds))
        self._publisher = asyncio.create_task(self._publish_counts())

    async def _publish_counts(self) -> None:
        while True:
            await asyncio.sleep(PUBLISH_COUNTS_SECONDS)
            self.publish_counts()

    async def _follow(self, hub: LiveHub, resync_seconds: float) -> None:
        with hub.subscribe(TOPIC) as subscription:
            while not subscription.closed:
                await subscription.receive(timeout_seconds=resync_seconds)
                if subscription.closed:
                    return
                try:
                    await self.reload()
                except Exception:  # the database is down: keep the snapshot, try again later
                    log.warning("feature flags not reloaded; keeping the last snapshot",
                                exc_info=True)

    async def close(self) -> None:
        for task in (self._follower, self._publisher):
            if task is not None:
                task.cancel()
        self.publish_counts()


def change_message(keys: Iterable[str]) -> LiveMessage:
    """What a process announces after committing a change to these flags."""
    return LiveMessage(TOPIC, id=time.time_ns(), data={"keys": sorted(set(keys))})


# The stores started in this process, with the event loop of each, for code with no
# application at hand (middleware built before the lifespan, jobs). None: every flag answers
# its caller's default. One in production; several only where tests run apps side by side.
_installed: list[tuple[asyncio.AbstractEventLoop | None, FlagStore]] = []
_EMPTY = FlagStore()


def current() -> FlagStore:
    """The store of the application running on this event loop (the last one started when
    none is, or outside any loop)."""
    if len(_installed) == 1:
        return _installed[0][1]
    if not _installed:
        return _EMPTY
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return _installed[-1][1]
    for owner, store in reversed(_installed):
        if owner is loop:
            return store
    return _installed[-1][1]


def install(store: FlagStore) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    _installed.append((loop, store))


def uninstall(store: FlagStore) -> None:
    _installed[:] = [(loop, installed) for loop, installed in _installed
                     if installed is not store]


__all__ = ["FlagStore", "Reason", "change_message", "current", "install", "uninstall"]
