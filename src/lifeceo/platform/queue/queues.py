"""The six queues and their retry policies (REFERENCE.md: the platform this re-implements)."""

import asyncio
from dataclasses import dataclass
from enum import IntEnum

from procrastinate.exceptions import JobAborted
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy, RetryDecision

from lifeceo.settings import Settings


class Priority(IntEnum):
    """Higher runs first within a queue (urgent notifications before the rest)."""

    LOW = -10
    NORMAL = 0
    URGENT = 10


class QueueConfigError(ValueError):
    """A queue name or per-queue setting that does not match the six queues."""


class PermanentFailure(Exception):
    """A failure no retry can fix (a mailbox that does not exist): the job becomes a dead letter
    at its first failure, with this error."""


class JobReleased(Exception):
    """The worker stopped before the job finished: it runs again, at once, elsewhere."""


@dataclass(frozen=True)
class Backoff(BaseRetryStrategy):
    """`retries` runs after the first failure, `first_delay_seconds` apart, doubling if
    exponential (BullMQ's backoff: 2 s exponential waits 2, 4, 8 s)."""

    retries: int
    first_delay_seconds: float = 0.0
    exponential: bool = False

    def delay_seconds(self, failures: int) -> float:
        """The wait before the next run, after `failures` failed runs (1 after the first)."""
        factor = 2 ** (failures - 1) if self.exponential else 1
        return self.first_delay_seconds * factor

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, JobReleased):
            return RetryDecision(retry_in={"seconds": 0})
        # Cancelled by an administrator (asyncio cancellation or procrastinate's abort).
        if isinstance(exception, (asyncio.CancelledError, JobAborted, PermanentFailure)):
            return None
        # job.attempts counts the runs before this one.
        if job.attempts >= self.retries:
            return None
        return RetryDecision(retry_in={"seconds": self.delay_seconds(job.attempts + 1)})


@dataclass(frozen=True)
class Queue:
    name: str
    backoff: Backoff


QUEUES: dict[str, Queue] = {queue.name: queue for queue in (
    Queue("email", Backoff(3, 2.0, exponential=True)),
    Queue("image-processing", Backoff(3, 1.0, exponential=True)),
    # Events are cheap to lose and costly to double count.
    Queue("analytics", Backoff(0)),
    Queue("notifications", Backoff(5, 3.0, exponential=True)),
    Queue("data-sync", Backoff(3, 5.0)),
    # REFERENCE.md lists 2 retries and no backoff: at once, like BullMQ without one.
    Queue("performance-metrics", Backoff(2)),
)}


def check_settings(settings: Settings) -> None:
    """Refuse to start on a concurrency or timeout for a queue that does not exist, or none."""
    for field in ("jobs_concurrency", "jobs_timeout_seconds"):
        configured = set(getattr(settings, field))
        if configured != set(QUEUES):
            raise QueueConfigError(
                f"LIFECEO_{field.upper()} must name exactly the queues {sorted(QUEUES)}; "
                f"unknown: {sorted(configured - set(QUEUES))}, "
                f"missing: {sorted(set(QUEUES) - configured)}")
