"""The platform flags that switch platform behaviour, as the small callables the platform's
middleware and services take (they never import this package's store themselves)."""

import asyncio

from lifeceo.platform.cache import Cache
from lifeceo.platform.flags.defaults import (
    ADVANCED_MONITORING,
    CDN_OPTIMIZATION,
    ON_BY_DEFAULT,
    PERFORMANCE,
    SMART_RESOURCE_LOADING,
    WEBSOCKET_SCALING,
)
from lifeceo.platform.flags.store import FlagStore, current


def compression_enabled() -> bool:
    """life-ceo-performance: compress responses."""
    return current().is_enabled(PERFORMANCE, ON_BY_DEFAULT[PERFORMANCE])


def shared_caching_enabled() -> bool:
    """cdn-optimization: public reads may be kept by shared caches, tagged with surrogate keys."""
    return current().is_enabled(CDN_OPTIMIZATION, ON_BY_DEFAULT[CDN_OPTIMIZATION])


def live_over_redis() -> bool:
    """websocket-scaling: live fan-out over Redis pub/sub (when configured), not NOTIFY."""
    return current().is_enabled(WEBSOCKET_SCALING, ON_BY_DEFAULT[WEBSOCKET_SCALING])


def monitoring_paused(store: FlagStore | None = None) -> bool:
    """advanced-monitoring off: the metrics-history sampler stages and aggregates nothing, and
    the monitor evaluates nothing. `store`: a process's own (the CLI's), not the installed one."""
    store = current() if store is None else store
    return not store.is_enabled(ADVANCED_MONITORING, ON_BY_DEFAULT[ADVANCED_MONITORING])


def pause_cache_with_performance_flag(cache: Cache):
    """life-ceo-performance off pauses the application cache (reads go to the database)."""

    def apply(store: FlagStore) -> None:
        cache.paused = not store.value(PERFORMANCE, ON_BY_DEFAULT[PERFORMANCE])

    return apply


def drop_local_cache_when_presentation_changes(cache: Cache):
    """When smart-resource-loading changes, this process forgets its cached entries: pages kept
    whole (Cache.composing) show the variants and srcset the flag allowed when they were made.
    Shared entries (L2) do not depend on the flag and stay."""
    seen: list[bool] = []
    # Held until done: the event loop keeps only weak references to tasks.
    clearing: set[asyncio.Task] = set()

    def apply(store: FlagStore) -> None:
        # The value, not the definition: a change that shows the same (a new description, a
        # table emptied under the process) keeps the cache.
        now = store.value(SMART_RESOURCE_LOADING, ON_BY_DEFAULT[SMART_RESOURCE_LOADING])
        if seen and now != seen[-1]:
            task = asyncio.get_running_loop().create_task(cache.clear_local())
            clearing.add(task)
            task.add_done_callback(clearing.discard)
        seen[:] = [now]

    return apply
