"""The log shipper's queue: bounded, never blocking or raising, fed only while a shipper runs."""

import threading

from lifeceo.platform.observability.logs_queue import ShipQueue, shipping


def _record(n: int, level: str = "warning") -> dict:
    return {"level": level, "event": f"e{n}"}


def test_past_its_bound_new_records_are_dropped_and_counted():
    queue = ShipQueue()
    queue.open(max_records=3, level="warning")
    for n in range(5):
        queue.offer(_record(n))
    assert len(queue) == 3 and queue.dropped == 2
    # The oldest stay: an incident's start is kept over its repetitions.
    assert [r["event"] for r in queue.take(10)] == ["e0", "e1", "e2"]
    queue.offer(_record(5))
    assert [r["event"] for r in queue.take(1)] == ["e5"] and queue.dropped == 2


def test_closed_it_takes_nothing_and_below_the_level_nothing_either():
    queue = ShipQueue()
    queue.offer(_record(0))
    assert len(queue) == 0 and queue.dropped == 0
    queue.open(max_records=10, level="error")
    for level in ("debug", "info", "warning", "error", "critical", "made-up"):
        queue.offer(_record(0, level))
    assert [r["level"] for r in queue.take(10)] == ["error", "critical"]


def test_what_the_shipper_logs_while_it_writes_is_not_queued():
    queue = ShipQueue()
    queue.open(max_records=10, level="warning")
    token = shipping.set(True)
    try:
        queue.offer(_record(0))
    finally:
        shipping.reset(token)
    queue.offer(_record(1))
    assert [r["event"] for r in queue.take(10)] == ["e1"]


def test_shippers_share_it_and_the_last_to_close_gets_what_is_left():
    queue = ShipQueue()
    queue.open(max_records=10, level="warning")
    queue.open(max_records=10, level="warning")
    queue.offer(_record(0))
    assert queue.close() == []
    queue.offer(_record(1))  # one shipper still runs: still taken
    assert [r["event"] for r in queue.close()] == ["e0", "e1"]
    queue.offer(_record(2))  # none runs: taken no more
    assert len(queue) == 0


def test_many_threads_logging_at_once_never_exceed_the_bound():
    queue = ShipQueue()
    queue.open(max_records=1000, level="warning")

    def log_many() -> None:
        for n in range(500):
            queue.offer(_record(n))

    threads = [threading.Thread(target=log_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(queue) == 1000 and queue.dropped == 3000
