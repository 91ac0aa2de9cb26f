"""The shapes of /admin/levers."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

# Route classes, queues and clients ("ip:2001:db8::1", "user:42").
TARGET_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
LEVER_PATTERN = r"^[a-z_]{1,32}$"
# A hard ceiling for the schema; levers_max_seconds is the deployment's own, lower bound.
MAX_SECONDS = 86_400


class LeverPull(BaseModel):
    target: str = Field(pattern=TARGET_PATTERN,
                        description="A route class, a queue, 'cache'/'ratelimit', a client, or "
                                    "a web worker ('any', a pid, 'host:pid')")
    value: str = Field(min_length=1, max_length=32,
                       description="on/off, open/closed, a concurrency, a limit (10/minute), "
                                   "or graceful")
    seconds: int = Field(ge=1, le=MAX_SECONDS, description="Until it expires by itself")


class LeverSetting(BaseModel):
    lever: str
    target: str
    value: str
    expires_at: datetime


class ProcessLevers(BaseModel):
    """One process's levers as it reports them."""

    process: str
    role: str
    levers: dict[str, Any]


class LeversReport(BaseModel):
    """The settings in force, and the state of every process that answered in time."""

    settings: list[LeverSetting]
    processes: list[ProcessLevers]
