"""The lever `warm`: every process recomputes the hot keys of a cache namespace that are missing
or about to expire (Cache.warm), at once, as the warm-cache job does for all of them every few
minutes; for a namespace whose hit ratio fell (the monitor's `warm_cache`).

It acts when it is applied, not while it is held: the setting only says when it was pulled.
Releasing it does nothing: what it warmed are ordinary entries, invalidated by writes as any
other and gone after their TTL."""

import asyncio
import re
import time

import structlog

from lifeceo.errors import Unprocessable
from lifeceo.platform.cache import Cache

log = structlog.get_logger(__name__)
ON = "on"
# Every namespace at once: the hit ratio of `all` fell.
ALL = "all"
# A namespace is a cache key up to its first colon (cache.stats.namespace_of).
NAMESPACE = re.compile(r"^[a-z0-9_-]{1,64}$")


class CacheWarm:
    """The lever `warm`: target a cache namespace (or `all`), value `on`."""

    name = "warm"

    def __init__(self, *, cache: Cache) -> None:
        self._cache = cache
        # Per namespace: keys refreshed by its last warm here, and when it finished.
        self.warmed: dict[str, dict[str, float | int]] = {}
        # Per namespace, the pull this process has acted on (its expiry names it): the board
        # hears its own pull back over the hub, and a process that starts hears it again.
        self._acted: dict[str, float] = {}
        self._running: set[asyncio.Task] = set()

    def check(self, target: str, value: str) -> str:
        if not NAMESPACE.match(target):
            raise Unprocessable("The warm lever's target is a cache namespace (`feed`, `post`, "
                                "the part of a key before its first colon) or 'all'.")
        if value != ON:
            raise Unprocessable("The warm lever's value is 'on'.")
        return value

    def apply(self, target: str, value: str, until: float) -> None:
        if self._acted.get(target) == until:
            return
        self._acted[target] = until
        # Applied from the board's coroutines: the warm runs beside them, not in their way.
        task = asyncio.get_running_loop().create_task(self.warm(target))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def warm(self, target: str) -> int:
        """Refresh the namespace's due hot keys here; how many were."""
        try:
            refreshed = await self._cache.warm(namespace=None if target == ALL else target,
                                               decay=False)
        except Exception:  # a warm that failed leaves the cache as it was
            log.exception("cache warm failed", namespace=target)
            return 0
        self.warmed[target] = {"keys": refreshed, "at": time.time()}
        log.info("cache warmed", namespace=target, keys=refreshed)
        return refreshed

    def release(self, target: str) -> None:
        """Nothing to undo: the warmed entries expire as any other. The next pull acts again."""
        self._acted.pop(target, None)

    def state(self) -> dict:
        return {"warming": len(self._running), "warmed": dict(sorted(self.warmed.items()))}
