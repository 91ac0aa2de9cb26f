"""The shapes of /admin/chaos."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

KIND_PATTERN = r"^[a-z_]{1,32}$"
# Route classes, queues, namespaces, "cache"/"ratelimit", "http"/"smtp", "all".
TARGET_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
# A hard ceiling for the schema; chaos_max_seconds is the deployment's own, lower bound.
MAX_SECONDS = 86_400


class FaultInjection(BaseModel):
    magnitude: float = Field(gt=0, le=1_000_000, description=(
        "The kind's unit: ms (db_latency, loop_blocker, slow_dependency), share 0-1 "
        "(route_errors), repeats (n_plus_one), MB per minute (memory_leak), 1 (on/off kinds)"))
    seconds: int = Field(ge=1, le=MAX_SECONDS, description="Until it expires by itself")
    target: str | None = Field(default=None, pattern=TARGET_PATTERN, description=(
        "A route class, queue, cache namespace, 'cache'/'ratelimit' or 'http'/'smtp'; "
        "'all' when omitted (cold_cache needs a namespace)"))


class FaultInForce(BaseModel):
    kind: str
    target: str
    magnitude: float
    expires_at: datetime


class ProcessFaults(BaseModel):
    """One process's faults as it reports them."""

    process: str
    role: str
    levers: dict[str, Any] = Field(description="Each kind's targets in force, and its figures")


class ChaosReport(BaseModel):
    """The faults in force, and the state of every process that answered in time."""

    faults: list[FaultInForce]
    processes: list[ProcessFaults]


class FaultsCleared(BaseModel):
    cleared: list[FaultInForce]
