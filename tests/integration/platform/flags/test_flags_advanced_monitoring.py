"""advanced-monitoring, flipped at runtime: the metrics-history sampler stages its counts every
interval while on, and nothing while off."""

import asyncio

from flipping import flip
from sqlalchemy import func, select

from lifeceo.platform.cache.stats import CacheStats
from lifeceo.platform.flags.switches import monitoring_paused
from lifeceo.platform.observability.history import HistorySampler
from lifeceo.platform.observability.history_models import MetricsStaging
from lifeceo.platform.observability.window import RequestWindow

INTERVAL_SECONDS = 0.2


async def _staged(app, process: str) -> int:
    async with app.state.sessionmaker() as session:
        return await session.scalar(select(func.count()).select_from(MetricsStaging)
                                    .where(MetricsStaging.process == process))


async def test_the_history_sampler_stops_and_resumes_with_the_flag(app, client, admin):
    settings = app.state.settings.model_copy(
        update={"metrics_history_interval_seconds": INTERVAL_SECONDS})
    await flip(client, admin, "advanced-monitoring", enabled=False)
    sampler = HistorySampler.start(settings, app.state.engine, app.state.sessionmaker,
                                   window=RequestWindow(), cache_stats=CacheStats(min_samples=1),
                                   paused=monitoring_paused)
    try:
        await asyncio.sleep(INTERVAL_SECONDS * 5)
        assert await _staged(app, sampler.process) == 0
        assert sampler.is_leader is False
        await flip(client, admin, "advanced-monitoring", enabled=True)
        async with asyncio.timeout(5):
            while await _staged(app, sampler.process) == 0 and not sampler.is_leader:
                await asyncio.sleep(INTERVAL_SECONDS / 2)
    finally:
        for task in sampler._tasks:
            task.cancel()
        await asyncio.gather(*sampler._tasks, return_exceptions=True)
        await sampler.resign()
