"""Over the random small worlds of the visibility property test, search finds for each viewer
exactly the posts they may see, through every page."""

from hypothesis import HealthCheck, given, settings
from tests.integration.community.test_visibility_property import _build, may_see, worlds

PAGE = 2


async def _search_all(client, headers: dict, q: str) -> list[int]:
    ids, cursor = [], None
    while True:
        params = {"q": q, "type": "posts", "limit": PAGE} | ({"cursor": cursor} if cursor else {})
        response = await client.get("/api/v1/search", params=params, headers=headers)
        assert response.status_code == 200, response.text
        ids += [item["post"]["id"] for item in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return ids


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds())
async def test_search_shows_exactly_the_visible_posts(app, client, session, world):
    headers, post_ids, _, _ = await _build(app, session, world)
    for viewer, auth in [(None, {}), *enumerate(headers)]:
        expected = {post_ids[n] for n, post in enumerate(world.posts)
                    if may_see(world, viewer, post)}
        # Every body is "post N": one word finds them all, a number exactly one.
        found = await _search_all(client, auth, "post")
        assert sorted(found) == sorted(expected), (viewer, world)
        for n in range(len(post_ids)):
            single = await _search_all(client, auth, f'"post {n}"')
            assert single == ([post_ids[n]] if post_ids[n] in expected else []), (viewer, n)
