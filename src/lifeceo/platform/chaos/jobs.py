"""Faults of jobs and the cache: `queue_stall` holds a queue's gate at 0 in every job worker
(its jobs stay todo in the database and run once it lifts), `cold_cache` empties a cache
namespace in L1 and L2 every second in every process, so lookups really miss."""

import re

from lifeceo.errors import Unprocessable
from lifeceo.platform.cache import Cache
from lifeceo.platform.chaos.fault import ALL, Fault
from lifeceo.platform.queue.gates import GATES
from lifeceo.platform.queue.queues import QUEUES

# Namespaces are a key's first segment (cache.stats.namespace_of).
NAMESPACE = re.compile(r"^[a-z0-9_-]{1,64}$")


class QueueStall(Fault):
    name = "queue_stall"
    unit = "1: on"
    targets = (ALL, *sorted(QUEUES))

    def started(self, target: str) -> None:
        _, until = self.active[target]
        for queue, gate in GATES.items():
            if target in (ALL, queue):
                gate.resize(0, until=until)

    def stopped(self, target: str) -> None:
        for queue, gate in GATES.items():
            if target in (ALL, queue) and not self.magnitude(queue):
                gate.resize(None)

    def state(self) -> dict:
        # Empty in a web process: its jobs (inline) are not gated.
        return {**super().state(), "gates": {queue: gate.limit for queue, gate in GATES.items()}}


class ColdCache(Fault):
    name = "cold_cache"
    unit = "1: on"
    targets = None

    def __init__(self, cache: Cache | None = None) -> None:
        super().__init__()
        self._cache = cache
        self.dropped = 0

    def valid_target(self, target: str) -> bool:
        return target != ALL and NAMESPACE.match(target) is not None

    def check(self, target: str, value: str) -> str:
        if not self.valid_target(target):
            raise Unprocessable("The cold_cache fault's target is a cache namespace (a key's "
                                "first segment, such as 'posts').")
        return super().check(target, value)

    async def tick(self, now: float) -> None:
        if self._cache is not None:
            for namespace in list(self.active):
                self.dropped += await self._cache.drop_namespace(namespace)

    def state(self) -> dict:
        return {**super().state(), "dropped": self.dropped}
