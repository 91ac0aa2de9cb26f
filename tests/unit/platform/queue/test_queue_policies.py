"""The six queues' retry policies (REFERENCE.md) and the periodic schedules' time zone."""

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from procrastinate.jobs import Job

from lifeceo.platform.queue import QUEUES
from lifeceo.platform.queue.procrastinate_app import build_app
from lifeceo.platform.queue.queues import JobReleased, QueueConfigError, check_settings
from lifeceo.platform.queue.registry import SCHEDULES, job
from lifeceo.settings import Settings

EXPECTED_DELAYS_SECONDS = {
    "email": [2, 4, 8],
    "image-processing": [1, 2, 4],
    "analytics": [],
    "notifications": [3, 6, 12, 24, 48],
    "data-sync": [5, 5, 5],
    "performance-metrics": [0, 0],
}


def _job(attempts: int) -> Job:
    return Job(id=1, queue="q", lock=None, queueing_lock=None, task_name="t", attempts=attempts)


def _delay(decision) -> float:
    return round((decision.retry_at - datetime.now(decision.retry_at.tzinfo)).total_seconds())


@pytest.mark.parametrize(("queue", "delays"), EXPECTED_DELAYS_SECONDS.items())
def test_each_queue_retries_with_its_listed_backoff(queue, delays):
    backoff = QUEUES[queue].backoff
    decisions = [backoff.get_retry_decision(exception=RuntimeError(), job=_job(attempts))
                 for attempts in range(len(delays) + 1)]
    assert [_delay(decision) for decision in decisions[:-1]] == delays
    # Out of retries: a dead letter.
    assert decisions[-1] is None


def test_a_released_job_runs_again_at_once_and_a_cancelled_one_never():
    backoff = QUEUES["analytics"].backoff
    released = backoff.get_retry_decision(exception=JobReleased(), job=_job(5))
    assert _delay(released) == 0
    assert backoff.get_retry_decision(exception=asyncio.CancelledError(), job=_job(0)) is None


def test_per_queue_settings_must_name_the_six_queues():
    with pytest.raises(QueueConfigError, match="unknown: \\['emails'\\]"):
        check_settings(Settings(jobs_concurrency={"emails": 5}))


def test_cron_is_read_in_the_configured_time_zone(monkeypatch):
    @job("queue-test-nightly", queue="data-sync")
    async def nightly(ctx) -> None:
        pass

    monkeypatch.setitem(SCHEDULES, "queue-test-nightly", "0 3 * * *")
    monkeypatch.setitem(SCHEDULES, "queue-test-unregistered", "0 4 * * *")
    madrid = ZoneInfo("Europe/Madrid")
    app = build_app(Settings(database_url="postgresql://nobody@/nowhere", jobs_timezone=madrid))
    periodic = app.periodic_registry.periodic_tasks
    assert ("queue-test-unregistered", "") not in periodic
    after = datetime(2026, 7, 1, 12, 0, tzinfo=madrid).timestamp()
    upcoming = periodic[("queue-test-nightly", "")].croniter.get_next(float, start_time=after)
    assert datetime.fromtimestamp(upcoming, madrid) == datetime(2026, 7, 2, 3, 0, tzinfo=madrid)

