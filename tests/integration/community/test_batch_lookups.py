"""GET /api/v1/posts?ids=... and GET /api/v1/users?usernames=...: many rows in one request, in
the order asked, through the one visibility rule, at a cost that does not grow with the list."""


from tests import factories
from tests.statements import statements

POSTS = "/api/v1/posts"
USERS = "/api/v1/users"


async def _post(client, headers, body: str, visibility: str = "public") -> int:
    response = await client.post(POSTS, headers=headers,
                                 json={"body": body, "visibility": visibility})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def _looked_up(client, url: str, headers=None) -> list[dict]:
    response = await client.get(url, headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()["items"]




async def test_posts_come_back_in_the_order_asked_without_unknown_ids_or_repeats(client):
    ana = await factories.user(client, "ana")
    first, second, third = [await _post(client, ana, f"post {n}") for n in range(3)]
    items = await _looked_up(client, f"{POSTS}?ids={third},{first},999,{third}, {second}")
    assert [item["id"] for item in items] == [third, first, second]
    assert items[0]["body"] == "post 2" and items[0]["author"]["username"] == "ana"
    assert await _looked_up(client, f"{POSTS}?ids=999") == []


async def test_only_the_posts_the_viewer_may_see_are_returned(client):
    bob = await factories.user(client, "bob")
    follower = await factories.user(client, "follower")
    stranger = await factories.user(client, "stranger")
    assert (await client.post("/api/v1/users/bob/follow", headers=follower)).status_code == 200
    ids = {visibility: await _post(client, bob, visibility, visibility)
           for visibility in ("public", "followers", "private")}
    url = f"{POSTS}?ids={ids['private']},{ids['followers']},{ids['public']}"
    liked = await client.post(f"{POSTS}/{ids['followers']}/like", headers=follower)
    assert liked.status_code == 200

    def bodies(items):
        return [item["body"] for item in items]

    assert bodies(await _looked_up(client, url)) == ["public"]
    assert bodies(await _looked_up(client, url, stranger)) == ["public"]
    followed = await _looked_up(client, url, follower)
    assert bodies(followed) == ["followers", "public"]
    assert [item["liked_by_me"] for item in followed] == [True, False]
    assert bodies(await _looked_up(client, url, bob)) == ["private", "followers", "public"]


async def test_bad_id_lists_are_422_problems(client):
    await factories.user(client, "ana")
    for ids in (",".join(str(n) for n in range(1, 102)), "1,x", "abc", "0", "-1", "1.5", "1,,2",
                "", "٣", str(2**63), "1" * 5000):
        response = await client.get(POSTS, params={"ids": ids})
        assert response.status_code == 422, ids
        assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get(POSTS)).status_code == 422
    hundred = ",".join(str(n) for n in range(1, 101))
    assert (await client.get(POSTS, params={"ids": hundred})).status_code == 200


async def test_a_post_lookup_costs_the_same_few_queries_however_many_ids(client, app):
    reader = await factories.user(client, "reader")

    async def statements_for(count: int) -> int:
        ids = []
        for n in range(count):
            author = await factories.user(client)
            ids.append(await _post(client, author, f"post {n}", "public"))
        assert (await client.post(f"{POSTS}/{ids[0]}/like", headers=reader)).status_code == 200
        # Reads find the reader's session in the cache from the second on.
        assert (await client.get("/api/v1/me", headers=reader)).status_code == 200
        with statements(app.state.engine) as seen:
            items = await _looked_up(client, f"{POSTS}?ids={','.join(map(str, ids))}", reader)
        assert [item["id"] for item in items] == ids and items[0]["liked_by_me"]
        return len(seen)

    # The posts, their authors, the viewer's likes.
    assert await statements_for(2) == await statements_for(30) == 3


async def test_users_come_back_in_the_order_asked_by_username(client):
    for name in ("ana", "bob", "cyd"):
        await factories.user(client, name)
    items = await _looked_up(client, f"{USERS}?usernames=cyd,ANA,nobody,ana,bob")
    assert [item["username"] for item in items] == ["cyd", "ana", "bob"]
    assert set(items[0]) >= {"display_name", "followers_count", "created_at"}
    assert "email" not in items[0]


async def test_bad_username_lists_are_422_problems(client):
    for usernames in (",".join(f"user{n}" for n in range(101)), "ab", "a b", "ana,", "ana;bob",
                      "x" * 31, ""):
        response = await client.get(USERS, params={"usernames": usernames})
        assert response.status_code == 422, usernames
        assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get(USERS)).status_code == 422


async def test_a_user_lookup_is_one_query_however_many_names(client, app):
    names = [f"person{n}" for n in range(12)]
    for name in names:
        await factories.user(client, name)
    for count in (2, 12):
        with statements(app.state.engine) as seen:
            items = await _looked_up(client, f"{USERS}?usernames={','.join(names[:count])}")
        assert len(items) == count
        assert len(seen) == 1


async def test_lookups_can_be_batched_with_other_requests(client):
    ana = await factories.user(client, "ana")
    post = await _post(client, ana, "hello")
    response = await client.post("/api/v1/batch", json={"requests": [
        {"method": "GET", "path": f"{POSTS}?ids={post},999"},
        {"method": "GET", "path": f"{USERS}?usernames=ana"}]})
    posts, users = response.json()["responses"]
    assert [item["body"] for item in posts["body"]["items"]] == ["hello"]
    assert [item["username"] for item in users["body"]["items"]] == ["ana"]
