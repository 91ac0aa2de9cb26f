"""A registry of named readiness checks; platform services add theirs at startup."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import structlog

Status = Literal["pass", "warn", "fail"]
log = structlog.get_logger(__name__)
# A dependency slower than this is as good as down for a request path.
CHECK_TIMEOUT_SECONDS = 2.0


@dataclass
class Check:
    """One `component:measurement` entry of a health report."""

    component: str
    measurement: str
    component_type: str
    status: Status
    observed_value: object = None
    observed_unit: str | None = None
    output: str | None = None
    time: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    @property
    def key(self) -> str:
        return f"{self.component}:{self.measurement}"

    def as_json(self) -> dict[str, object]:
        body: dict[str, object] = {"componentType": self.component_type, "status": self.status,
                                   "time": self.time}
        if self.observed_value is not None:
            body["observedValue"] = self.observed_value
        if self.observed_unit:
            body["observedUnit"] = self.observed_unit
        if self.output:
            body["output"] = self.output
        return body


CheckFunction = Callable[[], Awaitable[list[Check]]]


def worst(statuses: list[Status]) -> Status:
    for status in ("fail", "warn"):
        if status in statuses:
            return status
    return "pass"


class HealthRegistry:
    def __init__(self) -> None:
        self._checks: dict[str, CheckFunction] = {}
        # Log a component's status when it changes, not on every probe.
        self._last_status: dict[str, Status] = {}
        self.started_at = time.monotonic()

    def add(self, name: str, check: CheckFunction) -> None:
        self._checks[name] = check

    async def run(self) -> list[Check]:
        results = await asyncio.gather(*(self._run_one(name, fn) for name, fn in self._checks.items()))
        checks = [check for group in results for check in group]
        for check in checks:
            if self._last_status.get(check.key) != check.status:
                if check.key in self._last_status or check.status != "pass":
                    log.warning("health changed", check=check.key, status=check.status,
                                output=check.output)
                self._last_status[check.key] = check.status
        return checks

    @staticmethod
    async def _run_one(name: str, fn: CheckFunction) -> list[Check]:
        try:
            return await asyncio.wait_for(fn(), CHECK_TIMEOUT_SECONDS)
        except Exception as exc:  # a failing check is a result, not an error
            reason = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
            return [Check(name, "responseTime", "component", "fail", output=reason)]
