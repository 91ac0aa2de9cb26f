"""The warm lever through the API and the board: the public feed's page that readers kept
missing is recomputed at once in the process that serves them, and the next read needs no
query for it; bad targets are refused, and its undo releases nothing."""

import pytest
from tests import factories
from tests.statements import statements
from tests.waiting import eventually

from lifeceo.community.feed.cache_keys import public_key
from lifeceo.platform.cache import MISSING
from lifeceo.platform.http.pagination import PageParams

LEVERS = "/api/v1/admin/levers"
PUBLIC_FEED = "/api/v1/feed/public"


@pytest.fixture
async def undone(client, admin):
    """The board is the suite's (its live hub is the session database's): nothing stays set."""
    yield
    for target in ("feed", "all"):
        await client.delete(f"{LEVERS}/warm", params={"target": target}, headers=admin)


async def test_the_warm_lever_refreshes_the_feed_pages_readers_were_missing(
        app, client, admin, undone):
    cache = app.state.cache
    author = await factories.user(client, "author")
    for number in range(3):
        assert (await client.post("/api/v1/posts", headers=author, json={
            "body": f"tango lesson {number}", "visibility": "public"})).status_code == 201
    key = public_key(PageParams(after=None, limit=app.state.settings.page_size_default))
    # A cold namespace, as the cold_cache fault makes it: each read misses the page's listing.
    for _ in range(2):
        await cache.drop_namespace("feed", turn_seconds=0.1)
        first = await client.get(PUBLIC_FEED)
        assert first.status_code == 200 and len(first.json()["items"]) == 3
    await cache.drop_namespace("feed", turn_seconds=0.1)
    assert cache.get_local(key) is MISSING

    pulled = await client.post(f"{LEVERS}/warm", headers=admin,
                               json={"target": "feed", "value": "on", "seconds": 60})
    assert pulled.status_code == 200, pulled.text

    async def warmed() -> bool:
        return cache.get_local(key) is not MISSING

    await eventually(warmed)
    assert len(cache.get_local(key)["ids"]) == 3
    report = (await client.get(LEVERS, headers=admin)).json()
    assert any(setting["lever"] == "warm" and setting["target"] == "feed"
               for setting in report["settings"])
    [mine] = [process for process in report["processes"]
              if process["process"] == app.state.levers.process and process["role"] == "web"][:1]
    assert mine["levers"]["warm"]["warmed"]["feed"]["keys"] >= 1
    # The next reader is served the warmed listing: no query reads the page's ids.
    with statements(app.state.engine) as seen:
        again = await client.get(PUBLIC_FEED)
    assert again.status_code == 200 and again.json() == first.json()
    assert not any("FROM posts" in statement and "ORDER BY" in statement for statement in seen)

    # Undone: nothing to release, the entry stays until its TTL or a write.
    assert (await client.delete(f"{LEVERS}/warm", params={"target": "feed"},
                                headers=admin)).status_code == 204
    assert cache.get_local(key) is not MISSING


async def test_the_warm_lever_takes_a_namespace_and_on_only(client, admin, undone):
    for body in ({"target": "Feed!", "value": "on", "seconds": 60},
                 {"target": "feed", "value": "off", "seconds": 60}):
        assert (await client.post(f"{LEVERS}/warm", headers=admin,
                                  json=body)).status_code == 422
