"""The community reads go through the application cache, and every write shows on the next read.

Statements are counted on the engine: a read served from the cache issues fewer (an anonymous
one none), and the same reads with the cache off answer the same."""

import asyncio
import io
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from PIL import Image
from sqlalchemy import text
from tests import factories
from tests.statements import statements

from lifeceo.community.caching import composed
from lifeceo.platform.cache import MISSING

POSTS = "/api/v1/posts"
EVENTS = "/api/v1/events"
FEED = "/api/v1/feed"
PUBLIC = "/api/v1/feed/public"




@asynccontextmanager
async def _cache_off(app):
    cache = app.state.cache
    cache.enabled = False
    try:
        yield
    finally:
        cache.enabled = True


async def _ok(client, method: str, url: str, headers=None, **kwargs) -> dict:
    response = await client.request(method, url, headers=headers or {}, **kwargs)
    assert response.status_code in (200, 201, 204), (method, url, response.text)
    return response.json() if response.status_code != 204 else {}


async def _post(client, headers, body: str, visibility: str = "public") -> int:
    return (await _ok(client, "POST", POSTS, headers,
                      json={"body": body, "visibility": visibility}))["id"]


async def _event(client, headers, title: str, **fields) -> int:
    start = datetime.now(UTC) + timedelta(days=3)
    body = {"title": title, "city": "Rosario", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=4)).isoformat(),
            "timezone": "America/Argentina/Cordoba"} | fields
    return (await _ok(client, "POST", EVENTS, headers, json=body))["id"]


async def _bodies(client, url: str, headers=None) -> list[str]:
    return [item["body"] for item in (await _ok(client, "GET", url, headers))["items"]]


async def test_repeated_reads_are_served_from_the_cache_and_match_the_database(client, app):
    ana = await factories.user(client, "ana", display_name="Ana")
    bob = await factories.user(client, "bob")
    await _ok(client, "POST", "/api/v1/users/ana/follow", bob)
    post = await _post(client, ana, "hola")
    await _post(client, ana, "for followers", "followers")
    await _ok(client, "POST", f"{POSTS}/{post}/like", bob)
    event_id = await _event(client, ana, "Práctica")
    await _ok(client, "POST", f"{EVENTS}/{event_id}/rsvp", bob, json={"status": "going"})
    reads = [
        (f"{POSTS}/{post}", None), (f"{POSTS}/{post}", bob), (f"{POSTS}?ids={post}", bob),
        (PUBLIC, None), (PUBLIC, bob), (FEED, bob), ("/api/v1/users/ana/posts", None),
        ("/api/v1/users/ana/posts", bob), ("/api/v1/users/ana/posts", ana),
        ("/api/v1/users/ana", None), ("/api/v1/users?usernames=bob,ana", None), (EVENTS, None),
        (EVENTS, bob),
        (f"{EVENTS}/{event_id}", None), (f"{EVENTS}/{event_id}", bob),
    ]
    for url, headers in reads:
        # Twice: a page read fresh serves its posts without caching them; the next caches them.
        await _ok(client, "GET", url, headers)
        answer = await _ok(client, "GET", url, headers)
        with statements(app.state.engine) as cached:
            assert await _ok(client, "GET", url, headers) == answer, url
        async with _cache_off(app):
            with statements(app.state.engine) as uncached:
                assert await _ok(client, "GET", url, headers) == answer, url
        assert len(cached) < len(uncached), (url, cached, uncached)
        # Left for a logged-in viewer of events: their RSVPs (sessions and likes are cached).
        assert len(cached) == (1 if headers and url.startswith(EVENTS) else 0), (url, cached)


async def test_the_posts_a_cached_page_names_are_read_in_one_query(client, app):
    reader = await factories.user(client, "reader")
    for n in range(12):
        writer = await factories.user(client, f"writer{n}")
        await _post(client, writer, f"post {n}")
        await _ok(client, "POST", f"/api/v1/users/writer{n}/follow", reader)

    async def statements_for(url: str, headers=None) -> int:
        with statements(app.state.engine) as seen:
            assert len((await _ok(client, "GET", url, headers))["items"]) == 12
        return len(seen)

    # The page, the twelve bylines; the posts came with the page, so none was cached.
    assert await statements_for(PUBLIC) == 2
    # The page is cached, its posts are not: all twelve in one query.
    assert await statements_for(PUBLIC) == 1
    assert await statements_for(PUBLIC) == 0
    # Session, whom the reader follows, the page, the reader's likes; then all are cached.
    assert await statements_for(FEED, reader) == 4
    assert await statements_for(FEED, reader) == 0


async def test_posting_editing_and_deleting_show_at_once_in_every_feed(client):
    ana = await factories.user(client, "ana")
    fan = await factories.user(client, "fan")
    await _ok(client, "POST", "/api/v1/users/ana/follow", fan)
    first = await _post(client, ana, "first")
    timeline = "/api/v1/users/ana/posts"

    async def everywhere() -> list[list[str]]:
        return [await _bodies(client, FEED, fan), await _bodies(client, PUBLIC),
                await _bodies(client, timeline, fan), await _bodies(client, timeline)]

    assert await everywhere() == [["first"]] * 4
    second = await _post(client, ana, "second")
    assert await everywhere() == [["second", "first"]] * 4
    await _ok(client, "PATCH", f"{POSTS}/{first}", ana, json={"body": "first, edited"})
    assert await everywhere() == [["second", "first, edited"]] * 4
    assert (await _ok(client, "GET", f"{POSTS}/{first}"))["body"] == "first, edited"

    await _ok(client, "PATCH", f"{POSTS}/{second}", ana, json={"visibility": "followers"})
    assert await everywhere() == [["second", "first, edited"], ["first, edited"],
                                  ["second", "first, edited"], ["first, edited"]]
    assert (await client.get(f"{POSTS}/{second}")).status_code == 404
    await _ok(client, "PATCH", f"{POSTS}/{second}", ana, json={"visibility": "private"})
    assert await everywhere() == [["first, edited"]] * 4
    assert (await client.get(f"{POSTS}/{second}", headers=fan)).status_code == 404
    assert (await _ok(client, "GET", f"{POSTS}/{second}", ana))["visibility"] == "private"

    await _ok(client, "DELETE", f"{POSTS}/{first}", ana)
    assert await everywhere() == [[]] * 4
    assert (await client.get(f"{POSTS}/{first}")).status_code == 404


async def test_likes_and_comments_show_in_counts_and_liked_by_me(client):
    ana = await factories.user(client, "ana")
    fan = await factories.user(client, "fan")
    await _ok(client, "POST", "/api/v1/users/ana/follow", fan)
    post = await _post(client, ana, "baila")

    async def seen_by(headers) -> list[tuple[int, int, bool]]:
        items = [await _ok(client, "GET", f"{POSTS}/{post}", headers),
                 (await _ok(client, "GET", PUBLIC, headers))["items"][0]]
        if headers:
            items.append((await _ok(client, "GET", FEED, headers))["items"][0])
        return [(item["like_count"], item["comment_count"], item["liked_by_me"])
                for item in items]

    for viewer in (None, fan, ana):
        await seen_by(viewer)
    await _ok(client, "POST", f"{POSTS}/{post}/like", fan)
    assert await seen_by(fan) == [(1, 0, True)] * 3
    assert await seen_by(ana) == [(1, 0, False)] * 3
    assert await seen_by(None) == [(1, 0, False)] * 2
    comment = (await _ok(client, "POST", f"{POSTS}/{post}/comments", fan, json={"body": "¡Sí!"}))
    assert await seen_by(None) == [(1, 1, False)] * 2
    await _ok(client, "DELETE", f"{POSTS}/{post}/like", fan)
    await _ok(client, "DELETE", f"{POSTS}/{post}/comments/{comment['id']}", ana)
    assert await seen_by(fan) == [(0, 0, False)] * 3


async def test_follows_change_the_home_feed_visibility_and_both_profiles(client):
    ana = await factories.user(client, "ana")
    fan = await factories.user(client, "fan")
    await _post(client, ana, "for everyone")
    private_to_followers = await _post(client, ana, "for followers", "followers")

    async def state() -> tuple:
        return (await _bodies(client, FEED, fan),
                await _bodies(client, "/api/v1/users/ana/posts", fan),
                (await client.get(f"{POSTS}/{private_to_followers}", headers=fan)).status_code,
                (await _ok(client, "GET", "/api/v1/users/ana"))["followers_count"],
                (await _ok(client, "GET", "/api/v1/users/fan"))["following_count"])

    assert await state() == ([], ["for everyone"], 404, 0, 0)
    await _ok(client, "POST", "/api/v1/users/ana/follow", fan)
    assert await state() == (["for followers", "for everyone"],
                             ["for followers", "for everyone"], 200, 1, 1)
    await _ok(client, "DELETE", "/api/v1/users/ana/follow", fan)
    assert await state() == ([], ["for everyone"], 404, 0, 0)


async def test_a_new_display_name_shows_on_posts_events_and_the_profile(client):
    ana = await factories.user(client, "ana", display_name="Ana")
    post = await _post(client, ana, "hola")
    event_id = await _event(client, ana, "Milonga")

    async def names() -> list[str]:
        return [(await _ok(client, "GET", f"{POSTS}/{post}"))["author"]["display_name"],
                (await _ok(client, "GET", PUBLIC))["items"][0]["author"]["display_name"],
                (await _ok(client, "GET", f"{EVENTS}/{event_id}"))["organizer"]["display_name"],
                (await _ok(client, "GET", EVENTS))["items"][0]["organizer"]["display_name"],
                (await _ok(client, "GET", "/api/v1/users/ana"))["display_name"],
                (await _ok(client, "GET", "/api/v1/users?usernames=ana"))["items"][0][
                    "display_name"]]

    assert await names() == ["Ana"] * 6
    await _ok(client, "PATCH", "/api/v1/me", ana, json={"display_name": "Ana María"})
    assert await names() == ["Ana María"] * 6


async def test_event_writes_show_in_the_list_and_the_detail(client):
    ana = await factories.user(client, "ana")
    fan = await factories.user(client, "fan")
    event_id = await _event(client, ana, "Milonga", capacity=10)

    async def seen(headers=None) -> list[tuple]:
        detail = await _ok(client, "GET", f"{EVENTS}/{event_id}", headers)
        listed = await _ok(client, "GET", EVENTS, headers)
        return [(item["title"], item["going_count"], item["spots_left"], item["my_rsvp"])
                for item in [detail, *listed["items"]]]

    assert await seen(fan) == [("Milonga", 0, 10, None)] * 2
    await _ok(client, "POST", f"{EVENTS}/{event_id}/rsvp", fan, json={"status": "going"})
    assert await seen(fan) == [("Milonga", 1, 9, "going")] * 2
    assert await seen() == [("Milonga", 1, 9, None)] * 2
    await _ok(client, "PATCH", f"{EVENTS}/{event_id}", ana, json={"title": "Gran Milonga"})
    assert await seen(fan) == [("Gran Milonga", 1, 9, "going")] * 2
    await _ok(client, "DELETE", f"{EVENTS}/{event_id}/rsvp", fan)
    assert await seen(fan) == [("Gran Milonga", 0, 10, None)] * 2
    second = await _event(client, ana, "Práctica")
    assert [item["id"] for item in (await _ok(client, "GET", EVENTS))["items"]] == [
        event_id, second]
    await _ok(client, "POST", f"{EVENTS}/{second}/cancel", ana)
    assert [item["id"] for item in (await _ok(client, "GET", EVENTS))["items"]] == [event_id]
    assert (await _ok(client, "GET", f"{EVENTS}/{second}"))["cancelled_at"] is not None


async def test_an_event_leaves_the_cached_list_when_it_ends(client):
    ana = await factories.user(client, "ana")
    now = datetime.now(UTC)
    await _event(client, ana, "ending", starts_at=(now - timedelta(hours=1)).isoformat(),
                 ends_at=(now + timedelta(seconds=1)).isoformat())
    await _event(client, ana, "later")
    titles = [item["title"] for item in (await _ok(client, "GET", EVENTS))["items"]]
    assert titles == ["ending", "later"]
    await asyncio.sleep(max(0.0, (now + timedelta(seconds=1.1) - datetime.now(UTC)).total_seconds()))
    assert [item["title"] for item in (await _ok(client, "GET", EVENTS))["items"]] == ["later"]


def _png() -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(output, format="PNG")
    return output.getvalue()


async def test_deleting_media_detaches_it_from_cached_posts(client):
    ana = await factories.user(client, "ana")
    media = await _ok(client, "POST", "/api/v1/media", ana,
                      files={"file": ("dot.png", _png(), "image/png")})
    post = (await _ok(client, "POST", POSTS, ana,
                      json={"body": "look", "media_id": media["id"]}))["id"]
    assert (await _ok(client, "GET", f"{POSTS}/{post}"))["media_id"] == media["id"]
    assert (await _ok(client, "GET", PUBLIC))["items"][0]["media_id"] == media["id"]
    await _ok(client, "DELETE", f"/api/v1/media/{media['id']}", ana)
    assert (await _ok(client, "GET", f"{POSTS}/{post}"))["media_id"] is None
    assert (await _ok(client, "GET", PUBLIC))["items"][0]["media_id"] is None


async def test_a_page_that_ran_a_query_is_not_kept_whole(app, session):
    cache = app.state.cache
    await cache.set("post:1", {"id": 1}, ttl=60)

    async def from_the_cache():
        return [cache.get_local("post:1")]

    async def with_a_query():
        await session.execute(text("SELECT 1"))
        return [cache.get_local("post:1")]

    assert await composed(cache, "view:0:queried", with_a_query) == [{"id": 1}]
    assert cache.get_local("view:0:queried") is MISSING
    assert await composed(cache, "view:0:cached", from_the_cache) == [{"id": 1}]
    assert cache.get_local("view:0:cached") == [{"id": 1}]
