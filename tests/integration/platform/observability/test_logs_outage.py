"""The log shipper while its PostgreSQL (a private one) is stopped: logging goes on and raises
nothing, records wait within their bound, the excess and the expired batch are counted as
dropped, the API answers from the ring, and what waited is written once the database is back."""

import asyncio
import logging
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import structlog
from prometheus_client import REGISTRY

from lifeceo.platform.db import migrations
from lifeceo.platform.db.embedded import EmbeddedPostgres
from lifeceo.platform.db.engine import create_engine, create_sessionmaker
from lifeceo.platform.observability.logging import configure_logging
from lifeceo.platform.observability.logs_queue import SHIP_QUEUE
from lifeceo.platform.observability.logs_service import log_service
from lifeceo.platform.observability.logs_shipper import LogShipper
from lifeceo.platform.observability.recent import RECENT_LOGS
from lifeceo.settings import get_settings

QUEUE_MAX = 20
BATCH = 5
RETRY_SECONDS = 1.0
log = structlog.get_logger("lifeceo.test.outage")


@pytest.fixture
def cluster() -> Iterator[EmbeddedPostgres]:
    # A short path: the Unix socket then lives in it, apart from any other cluster's.
    directory = Path(tempfile.mkdtemp(prefix="lco-logs-"))
    postgres = EmbeddedPostgres(directory)
    migrations.upgrade(postgres.start())
    try:
        yield postgres
    finally:
        postgres.stop()
        shutil.rmtree(directory, ignore_errors=True)


def dropped(reason: str) -> float:
    return REGISTRY.get_sample_value("lifeceo_log_records_dropped_total", {"reason": reason}) or 0


def stored(url: str) -> list[str]:
    with psycopg.connect(url) as connection:
        return [row[0] for row in connection.execute("SELECT event FROM log_records ORDER BY id")]


async def test_a_stopped_database_costs_logging_nothing_and_drops_are_counted(cluster, capsys):
    handlers = logging.getLogger().handlers[:]
    configure_logging(log_format="json")
    settings = get_settings().model_copy(update={
        "log_ship_queue_max_records": QUEUE_MAX, "log_ship_batch_max_records": BATCH,
        "log_ship_retry_seconds": RETRY_SECONDS, "log_ship_interval_seconds": 0.2})
    engine = create_engine(settings, cluster.url)
    sessionmaker = create_sessionmaker(engine)
    SHIP_QUEUE.take(10**6)  # what other tests' applications left waiting
    shipper = LogShipper.start(settings, sessionmaker, role="worker")
    try:
        log.warning("before the outage")
        await shipper.flush()
        assert stored(cluster.url) == ["before the outage"]

        cluster.stop()
        full_before, unavailable_before = dropped("queue_full"), dropped("database_unavailable")
        for n in range(QUEUE_MAX + 10):
            log.error("during the outage", n=n)
        assert len(SHIP_QUEUE) == QUEUE_MAX and shipper.pending == QUEUE_MAX
        assert await shipper.flush() == 0  # fails, raises nothing, keeps its batch
        assert dropped("queue_full") - full_before == 10
        # The shipper's own complaint reached stderr and the ring, not its queue (which had
        # room for it: the batch it kept was taken out).
        assert shipper.pending == QUEUE_MAX and len(SHIP_QUEUE) == QUEUE_MAX - BATCH
        assert RECENT_LOGS.query(limit=1)[0]["event"].startswith("log records not shipped")
        assert "log records not shipped" in capsys.readouterr().err

        # Past the retry time the batch is dropped; the next one gets its own retry time.
        await asyncio.sleep(RETRY_SECONDS + 0.5)
        assert dropped("database_unavailable") - unavailable_before == BATCH
        assert shipper.pending == QUEUE_MAX - BATCH
        # The API answers from this process's ring, and says so.
        page = await log_service.page(sessionmaker=sessionmaker, shipper=shipper, scope="all",
                                      request_id=None, trace_id=None, level="error", since=None,
                                      until=None, node=None, cursor=None, limit=5)
        assert page.source == "process" and "does not answer" in page.degraded
        assert [item.event for item in page.items] == ["during the outage"] * 5
        assert shipper._task is not None and not shipper._task.done()

        cluster.start()
        waiting = shipper.pending
        await shipper.flush()
        assert stored(cluster.url).count("during the outage") == waiting == QUEUE_MAX - BATCH
        # The gap itself is shipped with the next flush.
        assert [r["event"] for r in SHIP_QUEUE.take(10)] == ["log records shipped again"]
    finally:
        await shipper.close()
        await engine.dispose()
        logging.getLogger().handlers[:] = handlers
    assert "Logging error" not in capsys.readouterr().err
