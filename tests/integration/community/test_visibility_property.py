"""Over random small worlds, every read path shows each viewer exactly the posts they may see,
and the photos of exactly those posts (and their own)."""

import asyncio
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, text

from lifeceo.community.media.models import MEDIA_STATUSES, Media
from lifeceo.community.media.service import originals_in, variants_in
from lifeceo.community.posts.models import VISIBILITIES, Comment, Post
from lifeceo.community.users.models import AuthSession, Follow, User
from lifeceo.community.users.service import token_hash
from lifeceo.settings import get_settings

TABLES = "users, posts, comments, likes, follows, notifications, auth_sessions, media"
START = datetime(2024, 3, 1, tzinfo=UTC)
PAGE = 4


@dataclass(frozen=True)
class PostSpec:
    author: int
    visibility: str
    # Few distinct ticks, so that equal timestamps (ordered by id) are common.
    tick: int
    # Index into World.media: a photo of the author's own.
    photo: int | None = None


@dataclass(frozen=True)
class MediaSpec:
    owner: int
    status: str
@dataclass(frozen=True)
class World:
    users: int
    follows: frozenset[tuple[int, int]]
    posts: tuple[PostSpec, ...]
    comments: tuple[tuple[int, int], ...]  # (post index, author)
    media: tuple[MediaSpec, ...] = ()


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
    media = draw(st.lists(st.builds(MediaSpec, st.integers(0, users - 1),
                                    st.sampled_from(MEDIA_STATUSES)), max_size=4))
    # Photos shared by several posts, on none, or only on posts some viewers may not see.
    posts = [replace(post, photo=draw(st.sampled_from(
        [None, *(n for n, item in enumerate(media) if item.owner == post.author)])))
        for post in posts]
    return World(users, follows, tuple(posts), tuple(comments), tuple(media))


def may_see(world: World, viewer: int | None, post: PostSpec) -> bool:
    """The rule, restated independently of the code under test."""
    if post.visibility == "public":
        return True
    if viewer is None:
        return False
    return viewer == post.author or (
        post.visibility == "followers" and (viewer, post.author) in world.follows)


def may_read(world: World, viewer: int | None, photo: int) -> bool:
    return viewer == world.media[photo].owner or any(
        post.photo == photo and may_see(world, viewer, post) for post in world.posts)


def variant_name(photo: int) -> str:
    return f"320w-{photo:016x}.webp"


async def _store_media(session, world: World, user_ids: list[int]) -> list[int]:
    """Media rows and their bytes: an original, and one rendition once ready."""
    settings = get_settings()
    originals, variants = originals_in(settings), variants_in(settings)
    media_ids = []
    for n, item in enumerate(world.media):
        rendition = {"name": variant_name(n), "content_type": "image/webp", "width": 320,
                     "height": 240, "byte_size": 9, "sha256": f"{n:064x}",
                     "storage_key": f"property-{n}.webp"}
        await originals.save(f"property-{n}.jpg", f"original {n}".encode())
        await variants.save(rendition["storage_key"], f"variant {n}".encode())
        media_ids.append(await session.scalar(insert(Media).returning(Media.id).values(
            owner_id=user_ids[item.owner], content_type="image/jpeg", byte_size=10, width=640,
            height=480, storage_key=f"property-{n}.jpg", sha256=f"{n:064x}", status=item.status,
            variants=[rendition] if item.status == "ready" else [])))
    return media_ids


async def _build(app, session, world: World) -> tuple[list[dict], list[int], list[int],
                                                     list[int]]:
    """The world in the database: Bearer headers, post ids, comment ids, media ids."""
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
    media_ids = await _store_media(session, world, user_ids)
    post_ids = list(await session.scalars(insert(Post).returning(Post.id), [
        {"author_id": user_ids[p.author], "body": f"post {n}", "visibility": p.visibility,
         "created_at": START + timedelta(seconds=p.tick),
         "media_id": None if p.photo is None else media_ids[p.photo]}
        for n, p in enumerate(world.posts)]))
    comment_ids = []
    if world.comments:
        comment_ids = list(await session.scalars(insert(Comment).returning(Comment.id), [
            {"post_id": post_ids[post], "author_id": user_ids[author], "body": "hola"}
            for post, author in world.comments]))
    await session.commit()
    # Written behind the application's back, with ids that the previous example used.
    await app.state.cache.clear_local()
    headers = [{"Authorization": f"Bearer {token}"} for token in tokens]
    return headers, post_ids, comment_ids, media_ids


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
    headers, post_ids, comment_ids, media_ids = await _build(app, session, world)
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

    async def check_photo(viewer: int | None, auth: dict, n: int) -> None:
        """Metadata, content and variant: 404 alike for what does not exist and what the viewer
        may not read; private, with no surrogate keys, unless a public post shows it."""
        readable = may_read(world, viewer, n)
        owner = viewer == world.media[n].owner
        ready = world.media[n].status == "ready"
        public = any(post.photo == n and post.visibility == "public" for post in world.posts)
        base = f"/api/v1/media/{media_ids[n]}"
        answers = {"metadata": await client.get(base, headers=auth),
                   "content": await client.get(f"{base}/content", headers=auth),
                   "variant": await client.get(f"{base}/variants/{variant_name(n)}",
                                               headers=auth)}
        expected = {"metadata": readable, "content": readable and (owner or ready),
                    "variant": readable and ready}
        for what, answer in answers.items():
            assert answer.status_code == (200 if expected[what] else 404), (viewer, n, what)
            if not readable:
                assert answer.json()["detail"] == f"No media with id {media_ids[n]}.", what
            elif not public:
                assert answer.headers["cache-control"].startswith("private"), (viewer, n, what)
                assert not {"xkey", "surrogate-key"} & set(answer.headers), (viewer, n, what)
        if expected["content"]:
            # Nobody but the owner gets the original and whatever metadata it holds.
            assert answers["content"].content == (
                f"original {n}" if owner else f"variant {n}").encode()
        if expected["variant"]:
            assert answers["variant"].content == f"variant {n}".encode()

    def checks() -> list:
        every = []
        for viewer, auth in [(None, {}), *enumerate(headers)]:
            every += [check_single_post(viewer, auth, n) for n in range(len(post_ids))]
            every += [check_timeline(viewer, auth, author) for author in range(world.users)]
            every += [check_photo(viewer, auth, n) for n in range(len(media_ids))]
            every += [check_home(viewer, auth), check_public(viewer, auth)]
        return every

    await asyncio.gather(*checks())
    # Again, now that the pages and posts every viewer read are cached and shared.
    await asyncio.gather(*checks())
