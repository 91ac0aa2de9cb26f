"""Trending: ranked hourly by likes and comments with time decay, stored for every worker,
served as each viewer may see the posts now."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update
from tests import factories

from lifeceo.community.feed.models import TrendingPost
from lifeceo.community.feed.tasks import calculate_trending
from lifeceo.community.feed.trending import SIZE
from lifeceo.community.posts.models import Post
from lifeceo.community.users.models import User
from lifeceo.platform.queue import JobContext

TRENDING = "/api/v1/feed/trending"


@pytest.fixture
def ctx(app) -> JobContext:
    return JobContext(settings=app.state.settings, sessionmaker=app.state.sessionmaker,
                      cache=app.state.cache, engine=app.state.engine)


def score(likes: int, comments: int, age_hours: float) -> float:
    """The documented formula."""
    return (likes + 2 * comments) / (age_hours + 2) ** 1.5


async def add_posts(session, author: str, posts: list[dict]) -> list[int]:
    """Posts written straight to the table, with the counters and ages the test needs."""
    author_id = await session.scalar(select(User.id).where(User.username == author))
    now = datetime.now(UTC)
    ids = list(await session.scalars(insert(Post).returning(Post.id), [
        {"author_id": author_id, "body": post.get("body", "tango"),
         "visibility": post.get("visibility", "public"),
         "like_count": post.get("likes", 0), "comment_count": post.get("comments", 0),
         "created_at": now - timedelta(hours=post["age_hours"])} for post in posts]))
    await session.commit()
    return ids


async def trending_ids(client, headers=None) -> list[int]:
    response = await client.get(TRENDING, headers=headers or {})
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return [item["id"] for item in response.json()["items"]]


async def test_posts_are_ranked_by_engagement_with_time_decay(client, session, ctx):
    await factories.user(client, "ana")
    posts = [
        {"likes": 10, "comments": 0, "age_hours": 1},   # 10 / 3^1.5   = 1.92
        {"likes": 2, "comments": 4, "age_hours": 1},    # 10 / 3^1.5, newer id wins the tie
        {"likes": 30, "comments": 5, "age_hours": 20},  # 40 / 22^1.5  = 0.39
        {"likes": 3, "comments": 0, "age_hours": 0.1},  # 3 / 2.1^1.5  = 0.99
        {"likes": 0, "comments": 1, "age_hours": 6},    # 2 / 8^1.5    = 0.09
        {"likes": 0, "comments": 0, "age_hours": 0.5},  # no engagement: not trending
        {"likes": 500, "comments": 90, "age_hours": 25},  # older than the day
        {"likes": 50, "comments": 0, "age_hours": 1, "visibility": "followers"},
        {"likes": 50, "comments": 0, "age_hours": 1, "visibility": "private"},
    ]
    ids = await add_posts(session, "ana", posts)
    await calculate_trending(ctx)

    expected = sorted(
        ((score(p["likes"], p["comments"], p["age_hours"]), post_id)
         for post_id, p in zip(ids, posts[:5])), reverse=True)
    assert await trending_ids(client) == [post_id for _, post_id in expected]
    assert [ids[i] for i in (1, 0, 3, 2, 4)] == [post_id for _, post_id in expected]
    stored = list(await session.scalars(select(TrendingPost).order_by(TrendingPost.rank)))
    assert [row.score for row in stored] == pytest.approx([value for value, _ in expected],
                                                          rel=1e-3)


async def test_the_ranking_keeps_the_top_fifty(client, session, ctx):
    await factories.user(client, "ana")
    ids = await add_posts(session, "ana", [{"likes": n, "age_hours": 2} for n in range(1, 61)])
    await calculate_trending(ctx)
    assert await trending_ids(client) == ids[::-1][:SIZE]


async def test_the_viewers_visibility_applies_now_not_when_ranked(client, session, ctx):
    ana = await factories.user(client, "ana")
    fan = await factories.user(client, "fan")
    stranger = await factories.user(client, "stranger")
    assert (await client.post("/api/v1/users/ana/follow", headers=fan)).status_code == 200
    created = [(await client.post("/api/v1/posts", headers=ana,
                                  json={"body": body})).json()["id"]
               for body in ("first", "second", "third")]
    for post_id in created:
        liked = await client.post(f"/api/v1/posts/{post_id}/like", headers=fan)
        assert liked.status_code == 200
    await calculate_trending(ctx)
    assert set(await trending_ids(client)) == set(created)

    first, second, third = created
    for post_id, visibility in ((first, "private"), (second, "followers")):
        changed = await client.patch(f"/api/v1/posts/{post_id}", headers=ana,
                                     json={"visibility": visibility})
        assert changed.status_code == 200, changed.text
    assert (await client.delete(f"/api/v1/posts/{third}", headers=ana)).status_code == 204

    # The stored ranking still names them; each viewer gets what they may see.
    assert await trending_ids(client) == []
    assert await trending_ids(client, stranger) == []
    assert await trending_ids(client, fan) == [second]
    assert set(await trending_ids(client, ana)) == {first, second}


async def test_every_worker_serves_the_stored_ranking_whatever_its_cache_holds(
        client, session, ctx, app):
    await factories.user(client, "ana")
    old, new = await add_posts(session, "ana", [{"likes": 5, "age_hours": 3},
                                                {"likes": 1, "age_hours": 1}])
    # Before the job ever ran, the ranking is computed for the request.
    assert await trending_ids(client) == [old, new]

    await calculate_trending(ctx)
    await app.state.cache.clear_local()  # a cold worker
    assert await trending_ids(client) == [old, new]

    # A new ranking replaces the cached one at once.
    await session.execute(update(Post).where(Post.id == new).values(like_count=50))
    await session.commit()
    assert await trending_ids(client) == [old, new]  # cached
    await calculate_trending(ctx)
    assert await trending_ids(client) == [new, old]


async def test_a_deleted_post_leaves_the_stored_ranking(client, session, ctx):
    ana = await factories.user(client, "ana")
    (post_id,) = await add_posts(session, "ana", [{"likes": 5, "age_hours": 1}])
    await calculate_trending(ctx)
    assert (await client.delete(f"/api/v1/posts/{post_id}", headers=ana)).status_code == 204
    assert list(await session.scalars(select(TrendingPost.post_id))) == []
