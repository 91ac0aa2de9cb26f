import logging

import pytest

from lifeceo.platform.cache.breaker import BreakerState, CircuitBreaker
from lifeceo.platform.observability.logging import configure_logging


@pytest.fixture
def breaker_log(caplog):
    configure_logging(log_format="console")
    caplog.set_level(logging.INFO, logger="lifeceo.platform.cache.breaker")
    return lambda: [record.msg["event"] for record in caplog.records
                    if record.name == "lifeceo.platform.cache.breaker"]


def make() -> CircuitBreaker:
    return CircuitBreaker(name="test", failures=3, probe_seconds=0.5, probe_max_seconds=5)


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
