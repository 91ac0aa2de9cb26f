"""The admin API's jobs and queue statistics."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from lifeceo.platform.queue.queues import QUEUES

# Our names for procrastinate's statuses: a failed job is out of retries, a dead letter.
JobStatus = Literal["waiting", "running", "succeeded", "dead", "cancelled", "aborted"]
TO_PROCRASTINATE: dict[str, str] = {"waiting": "todo", "running": "doing", "succeeded": "succeeded",
                                    "dead": "failed", "cancelled": "cancelled",
                                    "aborted": "aborted"}
FROM_PROCRASTINATE = {value: key for key, value in TO_PROCRASTINATE.items()}
QueueName = Literal[tuple(QUEUES)]  # type: ignore[valid-type]


class Job(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    queue: str
    name: str
    status: JobStatus
    priority: int
    # Runs so far, counting those cut short (a dead worker, a shutdown); procrastinate counts a
    # manual retry of a dead job as one more.
    attempts: int
    lock: str | None
    queueing_lock: str | None
    args: dict[str, Any]
    created_at: datetime
    # When a waiting job becomes due (a retry's backoff, or schedule_at); None: at once.
    scheduled_at: datetime | None
    # A cancel reached the job while it ran; it stops at its next await.
    abort_requested: bool
    last_error: str | None


class Failure(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempt: int
    error: str
    failed_at: datetime


class JobDetail(Job):
    failures: list[Failure]


class Purged(BaseModel):
    deleted: int


class QueueStats(BaseModel):
    queue: str
    # Due now and not started: the queue's depth.
    waiting: int
    # Waiting for a later time (a retry's backoff, schedule_at).
    scheduled: int
    running: int
    dead: int
    # None when nothing is waiting.
    oldest_waiting_seconds: float | None
    # Within the window: runs that failed (retried or not) and runs that succeeded.
    failed_runs: int
    succeeded_runs: int
    throughput_per_minute: float
    # None below the minimum sample count.
    duration_p50_ms: float | None
    duration_p95_ms: float | None


class QueueReport(BaseModel):
    window_seconds: int
    min_duration_samples: int
    queues: list[QueueStats]
