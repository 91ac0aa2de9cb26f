import logging

import pytest

from lifeceo.platform.cache.breaker import UNANSWERED_SECONDS, BreakerState, CircuitBreaker
from lifeceo.platform.observability.logging import configure_logging
from lifeceo.platform.observability.loop_lag import LaggedTimeout


@pytest.fixture
def breaker_log(caplog):
    configure_logging(log_format="console")
    caplog.set_level(logging.INFO, logger="lifeceo.platform.cache.breaker")
    return lambda: [record.msg["event"] for record in caplog.records
                    if record.name == "lifeceo.platform.cache.breaker"]


def make() -> CircuitBreaker:
    return CircuitBreaker(name="test", failures=3, probe_seconds=0.5, probe_max_seconds=5,
                          on_time_since=lambda since: 0.0)


def test_opens_after_consecutive_failures_with_one_log_line(breaker_log):
    breaker = make()
    error = ConnectionError("refused")
    assert not breaker.record_failure(error)
    breaker.record_success()  # not consecutive any more
    assert not breaker.record_failure(error)
    assert not breaker.record_failure(error)
    assert breaker.record_failure(error)
    assert breaker.state is BreakerState.OPEN
    for _ in range(100):  # requests during the outage neither count nor log
        assert not breaker.record_failure(error)
    assert breaker_log() == ["circuit opened"]


def test_probes_back_off_to_the_maximum_then_close_with_one_log_line(breaker_log):
    breaker = make()
    breaker.record_failure(TimeoutError(), force=True)
    delays = []
    for _ in range(6):
        delays.append(breaker.probe_delay())
        breaker.probe_started()
        assert breaker.state is BreakerState.HALF_OPEN
        breaker.probe_failed()
    assert delays == [0.5, 1.0, 2.0, 4.0, 5, 5]
    breaker.probe_started()
    breaker.probe_succeeded()
    assert breaker.closed and breaker.consecutive_failures == 0
    assert breaker_log() == ["circuit opened", "circuit closed"]
    breaker.record_failure(TimeoutError(), force=True)
    assert breaker.probe_delay() == 0.5  # a new outage starts probing quickly again


def test_a_call_given_up_on_a_lagging_loop_counts_only_once_redis_answers_nobody(breaker_log):
    now = [100.0]
    busy = [0.0]  # of the loop since the last answer
    breaker = CircuitBreaker(name="test", failures=3, probe_seconds=0.5, probe_max_seconds=5,
                             clock=lambda: now[0],
                             on_time_since=lambda since: now[0] - since - busy[0])
    breaker.record_success()
    lagged = LaggedTimeout(0.3)
    # Other calls still get answers: the loop, not Redis, kept these waiting.
    for _ in range(10):
        assert not breaker.record_failure(lagged)
        now[0] += 0.05
        breaker.record_success()
    assert breaker.closed and breaker.consecutive_failures == 0
    # Nothing answered for two seconds, but the loop was stalled for most of them.
    now[0] += 2 * UNANSWERED_SECONDS
    busy[0] = 1.5 * UNANSWERED_SECONDS
    assert not breaker.record_failure(lagged)
    # Nothing answered in over a second of on-time loop: Redis may hang behind the busy loop.
    busy[0] = 0.5 * UNANSWERED_SECONDS
    assert not breaker.record_failure(lagged) and not breaker.record_failure(lagged)
    assert breaker.record_failure(lagged, loop_lag_seconds=0.3)
    assert breaker_log() == ["circuit opened"]


def test_calls_in_flight_together_fail_together_and_count_once():
    now = [100.0]
    breaker = CircuitBreaker(name="test", failures=3, probe_seconds=0.5, probe_max_seconds=5,
                             clock=lambda: now[0])
    error = TimeoutError()
    # Twenty calls made at 100.0 time out on one stall of Redis: one failure.
    now[0] = 100.05
    assert not any(breaker.record_failure(error, started_at=100.0) for _ in range(20))
    assert breaker.consecutive_failures == 1 and breaker.closed
    # Calls made after it fail too: Redis is still not answering.
    now[0] = 100.10
    assert not breaker.record_failure(error, started_at=100.06)
    now[0] = 100.15
    assert breaker.record_failure(error, started_at=100.11)
