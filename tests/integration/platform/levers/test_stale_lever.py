"""The stale lever through the real application: a signed-in read of a route that allows it is
answered as the anonymous one, from the cache, marked and private; private routes and private
resources are unchanged; expiry, undo and 403 for members."""

import asyncio

import pytest
from tests import factories
from tests.statements import statements

LEVERS = "/api/v1/admin/levers"
PUBLIC_FEED = "/api/v1/feed/public"


@pytest.fixture
async def undone(client, admin):
    """Every class the test may switch on is off again afterwards (the app is the suite's)."""
    yield
    for target in ("feed", "posts"):
        await client.delete(f"{LEVERS}/stale", params={"target": target}, headers=admin)


async def _posts(client, author: dict[str, str], count: int, visibility: str = "public"):
    ids = []
    for number in range(count):
        response = await client.post("/api/v1/posts", headers=author, json={
            "body": f"milonga night {number}", "visibility": visibility})
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


async def _pull(client, admin, target: str, seconds: int = 60):
    response = await client.post(f"{LEVERS}/stale", headers=admin,
                                 json={"target": target, "value": "on", "seconds": seconds})
    assert response.status_code == 200, response.text


async def _counted(app, request):
    with statements(app.state.engine) as seen:
        response = await request
    return response, len(seen)


async def test_a_signed_in_read_gets_the_cached_anonymous_page_with_fewer_statements(
        app, client, admin, undone):
    author = await factories.user(client, "author")
    [liked, *_] = await _posts(client, author, 5)
    assert (await client.post(f"/api/v1/posts/{liked}/like", headers=author)).status_code < 300
    anonymous = await client.get(PUBLIC_FEED)  # fills the shared cache
    assert anonymous.headers["cache-control"].startswith("public")

    # Each reader's first page: off, composed for them; on, the anonymous page.
    off_reader = await factories.user(client, "offreader")
    off, off_statements = await _counted(app, client.get(PUBLIC_FEED, headers=off_reader))
    assert off.status_code == 200 and "x-lifeceo-degraded" not in off.headers
    await _pull(client, admin, "feed")
    on_reader = await factories.user(client, "onreader")
    on, on_statements = await _counted(app, client.get(PUBLIC_FEED, headers=on_reader))
    assert on.status_code == 200
    assert on.headers["x-lifeceo-degraded"] == "stale"
    assert on.headers["cache-control"] == "private, no-cache"
    assert "surrogate-key" not in on.headers and "xkey" not in on.headers
    assert on.json() == anonymous.json()
    print(f"statements of a signed-in first page: off {off_statements}, on {on_statements}")
    assert on_statements < off_statements
    assert on_statements == 0

    # Less personal, not wrong: the author's own like is not shown on the degraded page.
    mine = await client.get(PUBLIC_FEED, headers=author)
    assert mine.headers["x-lifeceo-degraded"] == "stale"
    assert not any(item["liked_by_me"] for item in mine.json()["items"])

    # A private route is unchanged: the home feed is the viewer's own.
    home = await client.get("/api/v1/feed", headers=author)
    assert home.status_code == 200 and "x-lifeceo-degraded" not in home.headers
    assert len(home.json()["items"]) == 5
    assert "x-lifeceo-degraded" not in (await client.get("/api/v1/me", headers=author)).headers
    # Anonymous requests are as they were.
    again = await client.get(PUBLIC_FEED)
    assert again.headers["cache-control"].startswith("public")
    assert "x-lifeceo-degraded" not in again.headers

    report = (await client.get(LEVERS, headers=admin)).json()
    [setting] = [s for s in report["settings"] if s["lever"] == "stale"]
    assert setting["target"] == "feed" and setting["value"] == "on"
    mine_process = report["processes"][0]["levers"]["stale"]
    assert mine_process["feed"]["enabled"] is True and mine_process["feed"]["served"] >= 2
    assert mine_process["posts"]["enabled"] is False


async def test_a_private_post_is_served_to_its_owner_as_usual(client, admin, undone):
    owner = await factories.user(client, "owner")
    [hidden] = await _posts(client, owner, 1, visibility="private")
    [shown] = await _posts(client, owner, 1)
    await _pull(client, admin, "posts")
    assert (await client.get(f"/api/v1/posts/{hidden}")).status_code == 404
    response = await client.get(f"/api/v1/posts/{hidden}", headers=owner)
    assert response.status_code == 200, response.text
    assert "x-lifeceo-degraded" not in response.headers
    assert response.json()["visibility"] == "private"
    public = await client.get(f"/api/v1/posts/{shown}", headers=owner)
    assert public.headers["x-lifeceo-degraded"] == "stale"
    # Revalidating the degraded copy: a 304, still marked and private.
    revalidated = await client.get(f"/api/v1/posts/{shown}", headers={
        **owner, "If-None-Match": public.headers["etag"]})
    assert revalidated.status_code == 304
    assert revalidated.headers["x-lifeceo-degraded"] == "stale"
    assert revalidated.headers["cache-control"] == "private, no-cache"


async def test_stale_expires_and_is_undone(client, admin, undone):
    reader = await factories.user(client, "reader")
    await _pull(client, admin, "feed", seconds=1)
    assert (await client.get(PUBLIC_FEED, headers=reader)).headers["x-lifeceo-degraded"] == "stale"
    await asyncio.sleep(1.1)
    assert "x-lifeceo-degraded" not in (await client.get(PUBLIC_FEED, headers=reader)).headers

    await _pull(client, admin, "feed")
    assert (await client.get(PUBLIC_FEED, headers=reader)).headers["x-lifeceo-degraded"] == "stale"
    released = await client.delete(f"{LEVERS}/stale", params={"target": "feed"}, headers=admin)
    assert released.status_code == 204
    response = await client.get(PUBLIC_FEED, headers=reader)
    assert "x-lifeceo-degraded" not in response.headers
    assert response.headers["cache-control"] == "private, no-cache"


async def test_members_may_not_pull_it_and_bad_pulls_are_422(client, admin):
    member = await factories.user(client, "member")
    pull = {"target": "feed", "value": "on", "seconds": 10}
    assert (await client.post(f"{LEVERS}/stale", json=pull, headers=member)).status_code == 403
    for target, value in [("home", "on"), ("feed", "maybe")]:
        response = await client.post(f"{LEVERS}/stale", headers=admin,
                                     json={"target": target, "value": value, "seconds": 10})
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
