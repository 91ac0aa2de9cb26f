"""Faults of jobs and the cache: `queue_stall` holds a queue's gate at 0 in every job worker
(its jobs stay todo in the database and run once it lifts), `cold_cache` empties a cache
namespace every second in every process's L1 and, by one process a second, in L2, so lookups
really miss."""

import re

from lifeceo.errors import Unprocessable
from lifeceo.platform.cache import Cache
from lifeceo.platform.chaos.fault import ALL, Fault
from lifeceo.platform.queue.gates import GATES
from lifeceo.platform.queue.queues import QUEUES

# Namespaces are a key's first segment (cache.stats.namespace_of).
NAMESPACE = re.compile(r"^[a-z0-9_-]{1,64}$")
# Who empties L2 takes a turn this long: a little under the board's one-second clock, so that
# some process's tick takes each second's turn.
L2_TURN_SECONDS = 0.9


class QueueStall(Fault):
    name = "queue_stall"
    unit = "1: on"
    targets = (ALL, *sorted(QUEUES))
    in_job_workers = True

    # The gate's stall, apart from the queue lever's concurrency, which it comes back to.
    def started(self, target: str) -> None:
        for queue, gate in GATES.items():
            if target in (ALL, queue):
                gate.stall(self._until(queue))

    def stopped(self, target: str) -> None:
        for queue, gate in GATES.items():
            if target in (ALL, queue):
                gate.stall(self._until(queue))

    def _until(self, queue: str) -> float | None:
        """When the latest of the stalls in force for `queue` ends; None: none is."""
        ends = [until for name, (_, until) in self.active.items() if name in (ALL, queue)]
        return max(ends, default=None)

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
                self.dropped += await self._cache.drop_namespace(
                    namespace, turn_seconds=L2_TURN_SECONDS)

    def state(self) -> dict:
        return {**super().state(), "dropped": self.dropped}
