"""The L1 byte limit bounds the memory the cache really holds: an application with a small
budget, filled through its own endpoints (posts, profiles, pages of a user's posts) until it
evicts, holds about what it reports, measured with tracemalloc, and never more than its limit."""

import gc
import random
import tracemalloc

import httpx
from sqlalchemy import insert, select
from tests import factories

from lifeceo.community.posts.models import Post
from lifeceo.community.users.models import User
from lifeceo.settings import get_settings

BUDGET_BYTES = 256 * 1024
WORDS = ("tango milonga vals orquesta abrazo cabeceo ronda pista práctica clase maestro "
         "bandoneón Almagro Boedo Palermo sábado domingo noche principiantes avanzados").split()


def _evictions(report: dict) -> int:
    return sum(namespace["tiers"]["l1"]["evictions"] for namespace in report["namespaces"].values())


async def test_the_byte_limit_bounds_what_the_l1_really_holds(client, session):
    from lifeceo.app import create_app

    rng = random.Random(13)
    usernames = [f"dancer{n}" for n in range(8)]
    for username in usernames:
        await factories.user(client, username, display_name=username.title(), city="Buenos Aires",
                             bio=" ".join(rng.choices(WORDS, k=30)))
    authors = list(await session.scalars(select(User.id)))
    await session.execute(insert(Post), [
        {"author_id": rng.choice(authors), "body": " ".join(rng.choices(WORDS, k=rng.randint(20, 80))),
         "tags": rng.sample(WORDS, 3)} for _ in range(600)])
    await session.commit()

    settings = get_settings().model_copy(update={
        "cache_l1_max_bytes": BUDGET_BYTES, "cache_l1_max_entries": 1_000_000,
        "ratelimit_enabled": False})
    small = create_app(settings)
    tracemalloc.start()
    try:
        async with small.router.lifespan_context(small):
            cache = small.state.cache
            transport = httpx.ASGITransport(app=small)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
                for _ in range(3000):
                    choice = rng.random()
                    if choice < 0.6:
                        response = await http.get(f"/api/v1/posts/{rng.randint(1, 600)}")
                    elif choice < 0.8:
                        response = await http.get(f"/api/v1/users/{rng.choice(usernames)}")
                    else:
                        response = await http.get(f"/api/v1/users/{rng.choice(usernames)}/posts",
                                                  params={"limit": rng.randint(5, 20)})
                    assert response.status_code == 200, response.text
                    assert cache.l1_bytes <= BUDGET_BYTES
                    if _evictions(cache.report()) > 50:
                        break
                assert _evictions(cache.report()) > 50, cache.report()
            accounted = cache.l1_bytes
            # The statistics go with clear_local() too: out of the measure first.
            cache.stats.reset()
            gc.collect()
            holding = tracemalloc.get_traced_memory()[0]
            await cache.clear_local()
            held = holding - tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert 0.7 * held <= accounted <= 1.3 * held, (accounted, held)
    assert held <= BUDGET_BYTES, (accounted, held)
