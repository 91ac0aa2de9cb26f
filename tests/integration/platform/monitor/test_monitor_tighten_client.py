"""tighten_client in a real application: the requests the rate limiter admits are counted per
client, the metrics history writes the busiest clients' shares, and a client making 40 % of
them has its limit tightened by the monitor through the client_limit lever, after which its
requests past the tightened quota are refused while everyone else's pass."""

from contextlib import AsyncExitStack
from datetime import UTC, datetime

from tests.integration.platform.levers.test_levers_api import client_at, started  # noqa: F401
from tests.integration.platform.monitor.test_monitor_api import Clock
from tests.integration.platform.observability.test_metrics_history_sampler import (
    last_interval,
    sampler,
)

from lifeceo.platform.monitor.leader import Monitor
from lifeceo.platform.observability.clients import BUSIEST_CLIENTS

SCRAPER = "203.0.113.9"
READERS = [f"203.0.113.{n}" for n in range(20, 26)]


async def read(application, address: str, times: int) -> list[int]:
    async with client_at(application, address) as http:
        return [(await http.get("/api/v1/feed/public?limit=1")).status_code
                for _ in range(times)]


async def test_a_client_making_most_of_the_requests_is_tightened(app, started):  # noqa: F811
    application = await started(ratelimit_enabled=True, ratelimit_api="1000/minute")
    history = sampler(app)
    BUSIEST_CLIENTS.take()  # what earlier tests counted is not this test's
    start = last_interval() - 10
    for interval in (start, start + 10):
        assert set(await read(application, SCRAPER, 30)) == {200}
        for reader in READERS:
            assert set(await read(application, reader, 4)) == {200}
        assert await history.flush(interval_start=interval)
        assert await history.lead(until=interval + 10)
    await history.resign()

    async with AsyncExitStack() as stack:
        monitor = Monitor(application.state.settings.model_copy(update={
            "monitor_client_min_requests": 50, "monitor_tightened_client_limit": "5/minute"}),
            application.state.engine, application.state.sessionmaker,
            clock=Clock(datetime.fromtimestamp(start + 21, UTC)),
            levers=application.state.levers)
        stack.push_async_callback(monitor.close)
        outcome = await monitor.lead()
        [found] = [d for d in outcome.detections if d.detector == "abusive_client"]
        # 30 of 54 requests in each interval.
        assert found.label == f"ip:{SCRAPER}" and found.evidence["requests"] == 60
        assert len(outcome.actions["verifying"]) == 1
        state = application.state.levers.state()["levers"]["client_limit"]
        assert state[f"ip:{SCRAPER}"]["quota"] == 5
        statuses = await read(application, SCRAPER, 7)
        assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]
        assert set(await read(application, READERS[0], 7)) == {200}
        await application.state.levers.undo("client_limit", target=f"ip:{SCRAPER}",
                                            actor="test")
