"""life-ceo-performance and cdn-optimization, flipped at runtime: the response cache and
compression, and shared-cache headers with surrogate keys."""

from flipping import flip
from sqlalchemy import text
from tests.factories import user


async def test_life_ceo_performance_switches_compression(client, admin):
    big = {"Accept-Encoding": "br"}
    assert (await client.get("/openapi.json", headers=big)).headers.get("content-encoding") == "br"
    await flip(client, admin, "life-ceo-performance", enabled=False)
    plain = await client.get("/openapi.json", headers=big)
    assert plain.status_code == 200 and "content-encoding" not in plain.headers
    await flip(client, admin, "life-ceo-performance", enabled=True)
    assert (await client.get("/openapi.json", headers=big)).headers.get("content-encoding") == "br"


async def test_life_ceo_performance_pauses_the_application_cache(app, client, admin, session):
    author = await user(client, "cache_author")
    post = (await client.post("/api/v1/posts", headers=author, json={"body": "original"})).json()
    path = f"/api/v1/posts/{post['id']}"
    assert (await client.get(path)).json()["body"] == "original"
    # Changed behind the application's back: no invalidation, so the cache still has the old.
    await session.execute(text("UPDATE posts SET body = 'changed' WHERE id = :id"),
                          {"id": post["id"]})
    await session.commit()
    assert (await client.get(path)).json()["body"] == "original"
    await flip(client, admin, "life-ceo-performance", enabled=False)
    assert app.state.cache.paused is True
    assert (await client.get(path)).json()["body"] == "changed"
    # Writes while paused still invalidate: resuming serves nothing stale.
    await client.patch(path, headers=author, json={"body": "edited while paused"})
    await flip(client, admin, "life-ceo-performance", enabled=True)
    assert app.state.cache.paused is False
    assert (await client.get(path)).json()["body"] == "edited while paused"


async def test_cdn_optimization_switches_shared_caching_and_surrogate_keys(client, admin):
    on = await client.get("/api/v1/feed/public")
    assert on.headers["cache-control"].startswith("public, max-age=")
    assert on.headers["surrogate-key"] == "feed:public"
    await flip(client, admin, "cdn-optimization", enabled=False)
    off = await client.get("/api/v1/feed/public")
    assert off.headers["cache-control"] == "private, no-cache"
    assert "surrogate-key" not in off.headers and "xkey" not in off.headers
    await flip(client, admin, "cdn-optimization", enabled=True)
    assert (await client.get("/api/v1/feed/public")).headers["surrogate-key"] == "feed:public"


async def test_virtual_scrolling_is_a_client_flag(client, admin):
    assert (await client.get("/api/v1/flags")).json()["flags"]["virtual-scrolling"]["enabled"]
    await flip(client, admin, "virtual-scrolling", enabled=False)
    flags = (await client.get("/api/v1/flags")).json()["flags"]
    assert flags["virtual-scrolling"] == {"enabled": False, "variant": "off",
                                          "reason": "disabled"}
