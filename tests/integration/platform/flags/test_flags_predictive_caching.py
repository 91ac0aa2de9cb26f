"""predictive-caching, flipped at runtime: the warm-cache job refreshes hot keys only while on."""

import asyncio

from flipping import flip

from lifeceo.platform.queue.maintenance import warm_cache


async def test_hot_keys_are_warmed_only_while_predictive_caching_is_on(app, client, admin):
    cache = app.state.cache
    refreshes: dict[str, int] = {}

    async def hot_and_due(key: str) -> None:
        async def refresh():
            refreshes[key] = refreshes.get(key, 0) + 1
            return {"refresh": refreshes[key]}

        for _ in range(3):  # read often enough to be hot
            await cache.get_or_compute(key, refresh, ttl=1, refresh=refresh)
        await asyncio.sleep(0.85)  # within the last fifth of its TTL: due for warming

    await flip(client, admin, "predictive-caching", enabled=False)
    await hot_and_due("flagwarm:off")
    await warm_cache(app.state.jobs)
    # Longer than the enabled case below takes to be warmed.
    await asyncio.sleep(0.5)
    assert refreshes == {"flagwarm:off": 1}

    await flip(client, admin, "predictive-caching", enabled=True)
    await hot_and_due("flagwarm:on")
    await warm_cache(app.state.jobs)
    async with asyncio.timeout(5):
        while refreshes["flagwarm:on"] == 1:
            await asyncio.sleep(0.02)
    assert cache.get_local("flagwarm:on") == {"refresh": 2}
