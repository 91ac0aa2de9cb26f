"""The HTTP caching middleware in the real application: headers per route, 304s, compression."""

import brotli
from tests import factories

FEED = "/api/v1/feed/public"
PUBLIC = "public, max-age=10, stale-while-revalidate=30, stale-if-error=86400"
VARY = "Authorization, Cookie, Accept-Encoding"


async def _posts(client, headers, count: int) -> list[dict]:
    posts = []
    for n in range(count):
        response = await client.post("/api/v1/posts", headers=headers,
                                     json={"body": f"Milonga number {n} at the usual place"})
        assert response.status_code == 201, response.text
        assert response.headers["cache-control"] == "no-store"
        posts.append(response.json())
    return posts


async def test_anonymous_public_reads_are_shareable_tagged_and_revalidate_to_304(client):
    ana = await factories.user(client, "ana")
    [post] = await _posts(client, ana, 1)
    for path, keys in ((FEED, "feed:public"), (f"/api/v1/posts/{post['id']}", f"post:{post['id']}"),
                       ("/api/v1/users/ana/posts", "user:ana"), ("/api/v1/events", "events")):
        response = await client.get(path, headers={"Accept-Encoding": "identity"})
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == PUBLIC, path
        assert response.headers["vary"] == VARY, path
        assert response.headers["surrogate-key"] == response.headers["xkey"] == keys
        etag = response.headers["etag"]
        again = await client.get(path, headers={"Accept-Encoding": "identity",
                                                "If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == PUBLIC and again.headers["vary"] == VARY


async def test_a_change_changes_the_etag(client):
    ana = await factories.user(client, "ana")
    [post] = await _posts(client, ana, 1)
    before = (await client.get(FEED)).headers["etag"]
    assert (await client.post(f"/api/v1/posts/{post['id']}/like", headers=ana)).status_code == 200
    after = await client.get(FEED, headers={"If-None-Match": before})
    assert after.status_code == 200 and after.headers["etag"] != before


async def test_personal_and_credential_responses_are_never_shared(client):
    ana = await factories.user(client, "ana")
    feed = await client.get(FEED, headers=ana)
    assert feed.headers["cache-control"] == "private, no-cache"
    assert feed.headers["vary"] == VARY
    assert "etag" in feed.headers
    me = await client.get("/api/v1/me", headers=ana)
    assert me.headers["cache-control"] == "no-store"
    login = await client.post("/api/v1/auth/login",
                              json={"username": "ana", "password": factories.PASSWORD})
    assert login.headers["cache-control"] == "no-store"
    client.cookies.clear()
    browser = await client.get(FEED, headers={"Cookie": f"lifeceo_session={login.json()['token']}"})
    assert browser.headers["cache-control"] == "private, no-cache"
    assert (await client.get("/api/health")).headers["cache-control"] == "no-store"
    missing = await client.get("/api/v1/posts/999999")
    assert missing.status_code == 404 and missing.headers["cache-control"] == "no-store"


async def test_large_responses_are_compressed_for_clients_that_accept_it(client):
    ana = await factories.user(client, "ana")
    await _posts(client, ana, 20)
    identity = await client.get(FEED, headers={"Accept-Encoding": "identity"})
    assert len(identity.content) > 1400 and "content-encoding" not in identity.headers
    async with client.stream("GET", FEED, headers={"Accept-Encoding": "gzip, br"}) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.headers["content-encoding"] == "br"
    assert int(response.headers["content-length"]) == len(raw) < len(identity.content) / 2
    assert brotli.decompress(raw) == identity.content
    assert response.headers["etag"] == identity.headers["etag"][:-1] + '-br"'
    revalidated = await client.get(FEED, headers={"Accept-Encoding": "gzip, br",
                                                  "If-None-Match": response.headers["etag"]})
    assert revalidated.status_code == 304
    assert revalidated.headers["etag"] == response.headers["etag"]
