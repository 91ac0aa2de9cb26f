"""Durable job queues on PostgreSQL (procrastinate): six queues with retries and dead letters,
workers with heartbeats, periodic jobs, and an inline mode for tests."""

from lifeceo.platform.queue.context import JobContext
from lifeceo.platform.queue.enqueue import enqueue
from lifeceo.platform.queue.health import queue_check
from lifeceo.platform.queue.queues import QUEUES, Priority
from lifeceo.platform.queue.registry import job, schedule

__all__ = ["QUEUES", "JobContext", "Priority", "enqueue", "job", "queue_check", "schedule"]
