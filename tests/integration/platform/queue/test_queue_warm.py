"""The warm-cache job warms the caches of the web processes, where the hot keys are."""

import asyncio

from lifeceo.platform.queue.maintenance import warm_cache


async def test_the_warm_cache_job_refreshes_hot_keys_in_the_web_process(app):
    cache = app.state.cache
    refreshes = 0

    async def refresh():
        nonlocal refreshes
        refreshes += 1
        return {"refresh": refreshes}

    for _ in range(3):  # read often enough to be hot
        await cache.get_or_compute("warmtest:feed", refresh, ttl=1, refresh=refresh)
    assert refreshes == 1
    await asyncio.sleep(0.85)  # now within the last fifth of its TTL: due for warming

    # The job runs in a worker process; it reaches this one over the live hub.
    await warm_cache(app.state.jobs)
    async with asyncio.timeout(5):
        while refreshes == 1:
            await asyncio.sleep(0.02)
    assert cache.get_local("warmtest:feed") == {"refresh": 2}
