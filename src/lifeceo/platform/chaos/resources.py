"""Faults of a process's resources: `memory_leak` retains memory at a rate, `loop_blocker`
sleeps synchronously on the event loop, `n_plus_one` makes the probe route repeat a SELECT."""

import time

from lifeceo.platform.chaos.fault import Fault

MB = 1024 * 1024


class MemoryLeak(Fault):
    name = "memory_leak"
    unit = "MB per minute"
    # 256 MB a minute fills a 2 GB worker in 8 minutes: fast enough to forecast, not to crash.
    max_magnitude = 256.0

    def __init__(self) -> None:
        super().__init__()
        self.retained: list[bytes] = []

    @property
    def retained_bytes(self) -> int:
        return sum(len(chunk) for chunk in self.retained)

    async def tick(self, now: float) -> None:
        # Written, not only allocated: untouched pages of a zeroed buffer are not resident.
        self.retained.append(b"\x5a" * int(self.magnitude() * MB / 60))

    def stopped(self, target: str) -> None:
        self.retained.clear()

    def state(self) -> dict:
        return {**super().state(), "retained_bytes": self.retained_bytes}


class LoopBlocker(Fault):
    name = "loop_blocker"
    unit = "ms blocked per second"
    # Below a second: the clock that blocks runs once a second and must still get its turn.
    max_magnitude = 900.0

    async def tick(self, now: float) -> None:
        # On purpose: synchronous work on the loop, as a CPU-bound call or a blocking driver is.
        time.sleep(self.magnitude() / 1000)


class NPlusOne(Fault):
    name = "n_plus_one"
    unit = "repeats of one SELECT per probe request"
    min_magnitude = 1.0
    # A page of 1,000 items looked up one by one: the worst shape the detector must see.
    max_magnitude = 1000.0

    def check(self, target: str, value: str) -> str:
        checked = super().check(target, value)
        return str(int(float(checked)))

    def repeats(self) -> int:
        """How many times the probe route runs its SELECT: once when the fault is off."""
        return max(1, int(self.magnitude()))
