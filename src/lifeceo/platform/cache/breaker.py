"""A circuit breaker for Redis: requests skip L2 while it is open; only a probe may close it."""

import time
from collections.abc import Callable
from enum import StrEnum

import structlog

from lifeceo.platform.observability import loop_lag
from lifeceo.platform.observability.loop_lag import LaggedTimeout

log = structlog.get_logger(__name__)
# A call given up while the event loop itself lagged says nothing about Redis as long as calls
# still get answers; once none has for this long of on-time loop, such failures count too (Redis
# may hang while the loop is busy). On-time: a loop stalled for seconds answers nothing either.
UNANSWERED_SECONDS = 1.0


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Opens after `failures` consecutive failures of calls made one after the other (calls in
    flight together fail together, on one stall: that is one failure), not counting calls that
    waited on a lagging event loop while Redis still answered (LaggedTimeout). While open, the
    owner runs
    probes `probe_delay()` apart (doubling up to the maximum); one successful probe closes it.
    Requests never probe: a request must not pay a Redis timeout to discover that Redis is still
    down."""

    def __init__(self, *, name: str, failures: int, probe_seconds: float, probe_max_seconds: float,
                 clock: Callable[[], float] = time.monotonic,
                 on_time_since: Callable[[float], float] | None = None) -> None:
        self.name = name
        self.failure_threshold = failures
        self.probe_seconds = probe_seconds
        self.probe_max_seconds = probe_max_seconds
        self._clock = clock
        self.state = BreakerState.CLOSED
        self.consecutive_failures = 0
        self.opened_at: float | None = None
        self.answered_at = clock()
        self._failed_at = float("-inf")
        # How long the event loop has been on time since a moment.
        self._on_time_since = on_time_since or loop_lag.on_time_since
        self._failed_probes = 0
        # An operator's hold (the breaker lever): open or closed until a wall-clock time.
        self._held: BreakerState | None = None
        self._held_until = 0.0

    @property
    def closed(self) -> bool:
        return self.state is BreakerState.CLOSED

    def hold(self, state: BreakerState, *, until: float) -> None:
        """Keep it `state` until `until` (time.time()): held open, probes do not close it; held
        closed, failures do not open it (an open one still closes only by a probe, which replays
        the invalidations it missed)."""
        self._held, self._held_until = state, until
        self._failed_probes = 0

    def release(self) -> None:
        self._held = None

    @property
    def held(self) -> BreakerState | None:
        if self._held is not None and time.time() >= self._held_until:
            self._held = None
        return self._held

    def record_success(self) -> None:
        self.answered_at = self._clock()
        if self.closed:
            self.consecutive_failures = 0

    def record_failure(self, error: BaseException, *, force: bool = False,
                       started_at: float | None = None, loop_lag_seconds: float = 0.0) -> bool:
        """Count a failure of a call made at `started_at`; True when this one opened the circuit
        (the owner starts probing). `force` opens it at once; `loop_lag_seconds` is the recent
        lag, for the log line."""
        if not self.closed or self.held is BreakerState.CLOSED:
            return False
        if not force:
            if started_at is not None and started_at < self._failed_at:
                return False  # in flight with the failure counted last
            if (isinstance(error, LaggedTimeout)
                    and self._on_time_since(self.answered_at) < UNANSWERED_SECONDS):
                return False
        self._failed_at = self._clock()
        self.consecutive_failures += 1
        if self.consecutive_failures < self.failure_threshold and not force:
            return False
        self.state = BreakerState.OPEN
        self.opened_at = self._clock()
        self._failed_probes = 0
        # The one line an outage produces; requests served meanwhile log nothing.
        log.warning("circuit opened", breaker=self.name, failures=self.consecutive_failures,
                    error=f"{type(error).__name__}: {error}",
                    loop_lag_ms=round(loop_lag_seconds * 1000, 1))
        return True

    def probe_delay(self) -> float:
        return min(self.probe_seconds * 2 ** self._failed_probes, self.probe_max_seconds)

    def probe_started(self) -> None:
        self.state = BreakerState.HALF_OPEN

    def probe_failed(self) -> None:
        # Open -> half-open -> open every few seconds is not news; only open and close are logged.
        self.state = BreakerState.OPEN
        self._failed_probes += 1

    def probe_succeeded(self) -> None:
        self.answered_at = self._clock()
        outage = None if self.opened_at is None else round(self._clock() - self.opened_at, 3)
        self.state = BreakerState.CLOSED
        self.consecutive_failures = 0
        self.opened_at = None
        log.info("circuit closed", breaker=self.name, outage_seconds=outage)
