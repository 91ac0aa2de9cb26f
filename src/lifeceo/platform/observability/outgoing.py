"""This process's calls to the services it depends on over the network (Varnish purges, SMTP,
webhooks): how many, how long, how many failed, per dependency. The metrics history diffs them
every interval, as it does the SQL statements, so that the monitor sees a dependency that
answers slowly (`slow_dependency`) from every web process's calls."""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

# The callers' names: the set is small and fixed, so each is a label of the history's series.
DEPENDENCIES = ("varnish", "smtp", "webhook")


class OutgoingCalls:
    """Cumulative since the process started: (calls, seconds, failures) per dependency."""

    def __init__(self) -> None:
        self._totals: dict[str, list[float]] = {name: [0, 0.0, 0] for name in DEPENDENCIES}

    def record(self, dependency: str, *, seconds: float, failed: bool) -> None:
        totals = self._totals[dependency]
        totals[0] += 1
        totals[1] += seconds
        totals[2] += failed

    @asynccontextmanager
    async def timed(self, dependency: str) -> AsyncIterator[None]:
        """Times the block; one that raises is a failed call (and the error goes on)."""
        started = time.perf_counter()
        failed = True
        try:
            yield
            failed = False
        finally:
            self.record(dependency, seconds=time.perf_counter() - started, failed=failed)

    def snapshot(self) -> dict[str, tuple[int, float, int]]:
        return {name: (int(calls), seconds, int(failures))
                for name, (calls, seconds, failures) in self._totals.items()}


OUTGOING = OutgoingCalls()


def delta(before: dict[str, tuple[int, float, int]], after: dict[str, tuple[int, float, int]]
          ) -> dict[str, list[float]]:
    """Per dependency called since `before`: [calls, seconds, failures]."""
    found = {}
    for name, (calls, seconds, failures) in after.items():
        old_calls, old_seconds, old_failures = before.get(name, (0, 0.0, 0))
        if calls > old_calls:
            found[name] = [calls - old_calls, seconds - old_seconds, failures - old_failures]
    return found
