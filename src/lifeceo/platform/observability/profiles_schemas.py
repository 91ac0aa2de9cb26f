"""The shapes of GET /admin/profiles."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from lifeceo.platform.observability.profiles import (
    FingerprintStats,
    RequestProfile,
    repeated_fingerprints,
)


class Statement(BaseModel):
    """One fingerprint's statements in the request: literals and parameters are `?`."""

    fingerprint: str
    count: int
    total_ms: float
    max_ms: float

    @classmethod
    def of(cls, stats: FingerprintStats) -> "Statement":
        return cls(fingerprint=stats.fingerprint, count=stats.count, total_ms=stats.total_ms,
                   max_ms=stats.max_ms)


ProfileScope = Literal["all", "process"]


class ProfileSummary(BaseModel):
    # host:pid of the process whose sample holds it, as the levers name processes.
    process: str
    request_id: str | None
    trace_id: str | None
    method: str
    route: str
    status: int
    started_at: datetime
    duration_ms: float
    sql_ms: float
    statement_count: int
    # The fingerprint that took the most time, what a reader of the list looks at first.
    top_statement: Statement | None

    @classmethod
    def of(cls, profile: RequestProfile, *, process: str) -> "ProfileSummary":
        return cls(**_common(profile), process=process)


class ProfileDetail(ProfileSummary):
    """Every fingerprint, most total time first; `repeated` those that meet Sentry's N+1 rule
    (at least 5 times, together at least 50 ms)."""

    statements: list[Statement]
    repeated: list[Statement]
    # Distinct statement texts past the per-request bound: counted, not kept.
    dropped_statements: int
    pid: int

    @classmethod
    def of_process(cls, profile: RequestProfile, *, process: str, pid: int) -> "ProfileDetail":
        return cls(**_common(profile), process=process,
                   statements=[Statement.of(stats) for stats in profile.by_fingerprint()],
                   repeated=[Statement.of(stats) for stats in repeated_fingerprints(profile)],
                   dropped_statements=profile.dropped_statements, pid=pid)


class ProcessSample(BaseModel):
    """One process's sample: how many profiles it holds, of at most `capacity`."""

    process: str
    capacity: int
    held: int
    # It had more matching profiles than fitted in its answer, which kept the first ones.
    truncated: bool = False


class ProfilesPage(BaseModel):
    """`scope=all`: the processes that answered within the wait (this one first), their
    profiles merged in the order asked; `scope=process`: the answering process's alone.
    `pid`, `capacity` and `held` are the answering process's."""

    scope: ProfileScope
    items: list[ProfileSummary]
    processes: list[ProcessSample]
    answered: int = Field(description="Processes whose sample is in the page, this one included")
    pid: int
    capacity: int
    held: int


def _common(profile: RequestProfile) -> dict:
    grouped = profile.by_fingerprint()
    return {"top_statement": Statement.of(grouped[0]) if grouped else None,
            "request_id": profile.request_id, "trace_id": profile.trace_id,
            "method": profile.method, "route": profile.route, "status": profile.status,
            "started_at": profile.started_at, "duration_ms": round(profile.duration_ms, 3),
            "sql_ms": round(profile.sql_ms, 3), "statement_count": profile.statement_count}
