"""Readiness of the cache: a Redis outage is `warn` (requests are served from L1), never `fail`."""

from lifeceo.platform.cache.service import Cache
from lifeceo.platform.health.checks import Check, CheckFunction


def cache_check(cache: Cache) -> CheckFunction:
    async def check() -> list[Check]:
        state = cache.l2_state
        if state == "not_configured":
            l2 = Check("cache", "l2", "datastore", "pass", output="not configured")
        elif state == "closed":
            l2 = Check("cache", "l2", "datastore", "pass", state)
        else:
            l2 = Check("cache", "l2", "datastore", "warn", state,
                       output=f"redis unreachable for {cache.l2_outage_seconds} s; serving from "
                              "L1, invalidations over PostgreSQL")
        listening = cache.bus_status()
        deaf = sorted(bus for bus, up in listening.items() if not up)
        # Deaf to every bus, this process may serve entries other processes invalidated.
        bus_status = "warn" if listening and len(deaf) == len(listening) else "pass"
        return [
            l2,
            Check("cache", "invalidationBus", "component", bus_status,
                  sorted(bus for bus, up in listening.items() if up),
                  output=f"not listening: {', '.join(deaf)}" if deaf else None),
            Check("cache", "l1Entries", "component", "pass", cache.l1_entries),
            Check("cache", "l1Bytes", "component", "pass", cache.l1_bytes, "bytes"),
        ]

    return check
