"""Over random small worlds, every read path shows each viewer exactly the posts they may see."""

import asyncio
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, text

from lifeceo.community.posts.models import VISIBILITIES, Comment, Post
from lifeceo.community.users.models import AuthSession, Follow, User
from lifeceo.community.users.service import token_hash

TABLES = "users, posts, comments, likes, follows, notifications, auth_sessions, media"
START = datetime(2024, 3, 1, tzinfo=UTC)
PAGE = 4


@dataclass(frozen=True)
class PostSpec:
    author: int
    visibility: str
    # Few distinct ticks, so that equal timestamps (ordered by id) are common.
    tick: int


@dataclass(frozen=True)
class World:
    users: int
    follows: frozenset[tuple[int, int]]
    posts: tuple[PostSpec, ...]
    comments: tuple[tuple[int, int], ...]  # (post index, author)


@st.composite
def worlds(draw) -> World:
    users = draw(st.integers(2, 4))
    pairs = [(a, b) for a in range(users) for b in range(users) if a != b]
    follows = draw(st.frozensets(st.sampled_from(pairs)))
    posts = draw(st.lists(st.builds(PostSpec, st.integers(0, users - 1),
                                    st.sampled_from(VISIBILITIES), st.integers(0, 3)),
                          min_size=1, max_size=6))
    comments = draw(st.lists(st.tuples(st.integers(0, len(posts) - 1),
                                       st.integers(0, users - 1)), max_size=3))
    return World(users, follows, tuple(posts), tuple(comments))


def may_see(world: World, viewer: int | None, post: PostSpec) -> bool:
    """The rule, restated independently of the code under test."""
    if post.visibility == "public":
        return True
    if viewer is None:
        return False
    return viewer == post.author or (
        post.visibility == "followers" and (viewer, post.author) in world.follows)


async def _build(app, session, world: World) -> tuple[list[int], list[dict], list[int], list[int]]:
    """The world in the database: user ids, their Bearer headers, post ids, comment ids."""
    await session.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    user_ids = list(await session.scalars(insert(User).returning(User.id), [
        {"username": f"user{i}", "email": f"user{i}@example.org", "password_hash": "unused"}
        for i in range(world.users)]))
    tokens = [secrets.token_urlsafe(16) for _ in user_ids]
    await session.execute(insert(AuthSession), [
        {"user_id": user_id, "token_hash": token_hash(token),
         "expires_at": datetime.now(UTC) + timedelta(hours=1)}
        for user_id, token in zip(user_ids, tokens)])
    if world.follows:
        await session.execute(insert(Follow), [
            {"follower_id": user_ids[a], "followee_id": user_ids[b]} for a, b in world.follows])
    post_ids = list(await session.scalars(insert(Post).returning(Post.id), [
        {"author_id": user_ids[p.author], "body": f"post {n}", "visibility": p.visibility,
         "created_at": START + timedelta(seconds=p.tick)} for n, p in enumerate(world.posts)]))
    comment_ids = []
    if world.comments:
        comment_ids = list(await session.scalars(insert(Comment).returning(Comment.id), [
            {"post_id": post_ids[post], "author_id": user_ids[author], "body": "hola"}
            for post, author in world.comments]))
    await session.commit()
    # Written behind the application's back, with ids that the previous example used.
    await app.state.cache.clear_local()
    headers = [{"Authorization": f"Bearer {token}"} for token in tokens]
    return user_ids, headers, post_ids, comment_ids


async def _walk(client, url: str, headers: dict) -> list[int]:
    ids, cursor = [], None
    while True:
        query = f"?limit={PAGE}" + (f"&cursor={cursor}" if cursor else "")
        response = await client.get(url + query, headers=headers)
        assert response.status_code == 200, (url, response.text)
        ids += [item["id"] for item in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return ids


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds())
async def test_every_read_path_shows_exactly_the_visible_posts(app, client, session, world):
    _, headers, post_ids, comment_ids = await _build(app, session, world)
    newest_first = sorted(range(len(post_ids)),
                          key=lambda n: (world.posts[n].tick, post_ids[n]), reverse=True)

    def expected(viewer: int | None, wanted) -> list[int]:
        return [post_ids[n] for n in newest_first
                if wanted(world.posts[n]) and may_see(world, viewer, world.posts[n])]

    async def check_single_post(viewer: int | None, auth: dict, n: int) -> None:
        visible = may_see(world, viewer, world.posts[n])
        post = await client.get(f"/api/v1/posts/{post_ids[n]}", headers=auth)
        assert post.status_code == (200 if visible else 404), (viewer, n)
        comments = await client.get(f"/api/v1/posts/{post_ids[n]}/comments", headers=auth)
        assert comments.status_code == (200 if visible else 404), (viewer, n)
        if visible:
            assert post.json()["id"] == post_ids[n]
            assert [c["id"] for c in comments.json()["items"]] == [
                comment_ids[i] for i, (on, _) in enumerate(world.comments) if on == n]

    async def check_home(viewer: int | None, auth: dict) -> None:
        if viewer is None:
            assert (await client.get("/api/v1/feed")).status_code == 401
            return
        followed = {b for a, b in world.follows if a == viewer} | {viewer}
        assert await _walk(client, "/api/v1/feed", auth) == expected(
            viewer, lambda p: p.author in followed)

    async def check_timeline(viewer: int | None, auth: dict, author: int) -> None:
        assert await _walk(client, f"/api/v1/users/user{author}/posts", auth) == expected(
            viewer, lambda p: p.author == author)

    async def check_public(viewer: int | None, auth: dict) -> None:
        assert await _walk(client, "/api/v1/feed/public", auth) == expected(
            None, lambda p: True)

    def checks() -> list:
        every = []
        for viewer, auth in [(None, {}), *enumerate(headers)]:
            every += [check_single_post(viewer, auth, n) for n in range(len(post_ids))]
            every += [check_timeline(viewer, auth, author) for author in range(world.users)]
            every += [check_home(viewer, auth), check_public(viewer, auth)]
        return every

    await asyncio.gather(*checks())
    # Again, now that the pages and posts every viewer read are cached and shared.
    await asyncio.gather(*checks())
