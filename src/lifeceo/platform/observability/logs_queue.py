"""The records waiting for the log shipper (logs_shipper.py): bounded, fed by the logging call,
which it must never block or fail. Apart from the shipper so that logging.py stays light."""

import contextvars
import threading
from collections import deque
from typing import Any

from lifeceo.platform.observability.recent import LEVELS, level_rank

# Set while a shipper writes records: what is logged then (its own warnings, the driver's) is
# not queued again, so that a failing database cannot feed the shipper records about itself.
shipping: contextvars.ContextVar[bool] = contextvars.ContextVar("log_shipping", default=False)


class ShipQueue:
    """Newest records dropped (and counted) past the bound: the start of an incident is worth
    more than its hundredth repetition. Closed, with no shipper running (a command), it takes
    nothing. Several shippers in one process (tests run several apps) share it, so each record
    is written once."""

    def __init__(self) -> None:
        self._records: deque[dict[str, Any]] = deque()
        self._lock = threading.Lock()
        self._opened = 0
        self._max_records = 0
        self._floor = LEVELS.index("warning")
        # Since the process started; the shipper publishes it as a Prometheus counter.
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._records)

    def open(self, *, max_records: int, level: str) -> None:
        with self._lock:
            self._opened += 1
            self._max_records, self._floor = max_records, LEVELS.index(level)

    def close(self) -> list[dict[str, Any]]:
        """One shipper fewer; the last one gets what is left."""
        with self._lock:
            self._opened = max(0, self._opened - 1)
            if self._opened:
                return []
            left = list(self._records)
            self._records.clear()
            return left

    def offer(self, record: dict[str, Any]) -> None:
        """Queue a structured record (recent.py's shape) if it is shipped; never raises."""
        if not self._opened or shipping.get() or level_rank(record["level"]) < self._floor:
            return
        with self._lock:
            if len(self._records) >= self._max_records:
                self.dropped += 1
            else:
                self._records.append(record)

    def take(self, count: int) -> list[dict[str, Any]]:
        with self._lock:
            return [self._records.popleft() for _ in range(min(count, len(self._records)))]


SHIP_QUEUE = ShipQueue()
