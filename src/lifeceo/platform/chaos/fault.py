"""What every fault kind shares: a magnitude per target until a wall-clock time, checked
against the kind's bounds, expired by the board's clock; the shape of a lever (levers.board)."""

import math
import time

from lifeceo.errors import Unprocessable

ALL = "all"


class Fault:
    """A fault kind. Subclasses name themselves, their unit and bounds, and act in `started`,
    `stopped` and, once a second while in force, `tick`."""

    name = ""
    unit = ""
    min_magnitude = 0.0
    max_magnitude = 1.0
    # None: any target `valid_target` admits.
    targets: tuple[str, ...] | None = (ALL,)
    # Whether job workers take it too (their board has only these kinds); web processes take
    # every kind.
    in_job_workers = False

    def __init__(self) -> None:
        # target -> (magnitude, until wall-clock time)
        self.active: dict[str, tuple[float, float]] = {}

    def valid_target(self, target: str) -> bool:
        return self.targets is None or target in self.targets

    def check(self, target: str, value: str) -> str:
        if not self.valid_target(target):
            raise Unprocessable(f"The {self.name} fault's target is one of "
                                f"{list(self.targets or ())}, not {target!r}.")
        try:
            magnitude = float(value)
        except ValueError:
            magnitude = math.nan
        if not self.min_magnitude < magnitude <= self.max_magnitude:
            raise Unprocessable(f"The {self.name} fault's magnitude ({self.unit}) is above "
                                f"{self.min_magnitude:g} and at most {self.max_magnitude:g}.")
        return f"{magnitude:g}"

    def apply(self, target: str, value: str, until: float) -> None:
        self.active[target] = (float(value), until)
        self.started(target)

    def release(self, target: str) -> None:
        if self.active.pop(target, None) is not None:
            self.stopped(target)

    def expire(self, now: float) -> None:
        for target in [target for target, (_, until) in self.active.items() if until <= now]:
            self.release(target)

    def magnitude(self, target: str = ALL) -> float:
        """In force for `target` (or for all targets) now; 0 when not."""
        now = time.time()
        found = 0.0
        for name in (target, ALL):
            magnitude, until = self.active.get(name, (0.0, 0.0))
            if until > now:
                found = max(found, magnitude)
        return found

    def state(self) -> dict:
        return {target: {"magnitude": magnitude, "until": round(until, 3)}
                for target, (magnitude, until) in sorted(self.active.items())}

    def started(self, target: str) -> None:
        """Take effect for `target` (the magnitude is in self.active)."""

    def stopped(self, target: str) -> None:
        """Undo for `target`."""

    async def tick(self, now: float) -> None:
        """Once a second while the fault is in force for some target."""
