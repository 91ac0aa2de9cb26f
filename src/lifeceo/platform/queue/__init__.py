"""Durable job queues on PostgreSQL (procrastinate): six queues with retries and dead letters,
workers with heartbeats, periodic jobs, and an inline mode for tests."""

from lifeceo.platform.queue.context import JobContext
from lifeceo.platform.queue.enqueue import enqueue, enqueue_many
from lifeceo.platform.queue.health import queue_check
from lifeceo.platform.queue.queues import QUEUES, PermanentFailure, Priority
from lifeceo.platform.queue.registry import job, schedule

__all__ = ["QUEUES", "JobContext", "PermanentFailure", "Priority", "enqueue", "enqueue_many", "job",
           "queue_check", "schedule"]
