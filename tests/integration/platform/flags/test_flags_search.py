"""elasticsearch-search, flipped at runtime: ranked full-text search while on; while off, a
simple search of names and titles (posts, which have none, are not found)."""

from flipping import flip
from tests.factories import user


async def _found(client, q: str, type: str) -> list:
    response = await client.get("/api/v1/search", params={"q": q, "type": type})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_full_text_search_or_the_simple_name_search(client, admin):
    author = await user(client, "gardelfan", display_name="Carlos Tanguero")
    created = await client.post("/api/v1/posts", headers=author,
                                json={"body": "Milongas everywhere this weekend"})
    assert created.status_code == 201
    # Full text: stemmed words of the body ("milonga" finds "Milongas").
    posts = await _found(client, "milonga", "posts")
    assert [hit["post"]["id"] for hit in posts] == [created.json()["id"]]
    assert "<mark>" in posts[0]["snippet"]

    await flip(client, admin, "elasticsearch-search", enabled=False)
    assert await _found(client, "milonga", "posts") == []
    # Any part of a name, accents and case ignored.
    people = await _found(client, "TANGUÉ", "users")
    assert [hit["user"]["username"] for hit in people] == ["gardelfan"]
    assert "<mark>" not in people[0]["snippet"]
    assert [hit["user"]["username"] for hit in await _found(client, "delfa", "all")] == [
        "gardelfan"]

    await flip(client, admin, "elasticsearch-search", enabled=True)
    assert [hit["post"]["id"] for hit in await _found(client, "milonga", "posts")] == [
        created.json()["id"]]
