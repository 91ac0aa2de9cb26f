"""All SQL about posts, comments and likes, and the one rule of who may see a post."""

from typing import Literal

from sqlalchemy import (
    ColumnElement,
    and_,
    delete,
    func,
    literal_column,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.media.models import Media
from lifeceo.community.posts.models import VISIBILITIES, Comment, Like, Post
from lifeceo.community.users.models import Follow
from lifeceo.platform.http.pagination import PageParams

# "key share" is enough to add a child row (a like, a comment) while blocking deletion of the
# post; "no key update" serialises edits; "update" is for deleting the post itself, taken up
# front because upgrading a weaker lock could deadlock with a like holding "key share".
RowLock = Literal["key share", "no key update", "update"]
_LOCKS = {
    "key share": {"read": True, "key_share": True},
    "no key update": {"key_share": True},
    "update": {},
}
# Inlined rather than bound, so that the planner can match the partial index
# ix_posts_public_created even in a cached generic plan of a prepared statement.
_PUBLIC = literal_column("'public'")


def visible_to(viewer_id: int | None) -> ColumnElement[bool]:
    """Whether the viewer (None: anonymous) may see a post; every read of posts applies it."""
    public = Post.visibility == _PUBLIC
    if viewer_id is None:
        return public
    follows_author = (
        select(Follow.follower_id)
        .where(Follow.follower_id == viewer_id, Follow.followee_id == Post.author_id)
        .correlate(Post).exists()
    )
    return or_(public, Post.author_id == viewer_id,
               and_(Post.visibility == "followers", follows_author))


def visible_beyond_public(viewer_id: ColumnElement[int]) -> ColumnElement[bool]:
    """The viewer's own posts, whatever their visibility, and the followers-only posts of those
    they follow: with the public posts, all the viewer may see. Driven by the author (a
    semi-join on ix_posts_author_created), not by whatever else the query matches. The viewer
    is an expression (a bound parameter), so that the condition can be built once."""
    followees = select(Follow.followee_id).where(Follow.follower_id == viewer_id)
    return and_(Post.author_id.in_(followees.union(select(viewer_id))),
                or_(Post.author_id == viewer_id, Post.visibility == "followers"))


# visible_to by cases: what a viewer sees of an author's posts depends only on whether they
# are that author, a follower, or anyone else (anonymous included). Cached pages and posts are
# shared by everyone in one relation, and checked with this per read.
Relation = Literal["self", "follower", "public"]
VISIBLE_BY_RELATION: dict[Relation, tuple[str, ...]] = {
    "self": VISIBILITIES,
    "follower": ("public", "followers"),
    "public": ("public",),
}


def visible_in(relation: Relation) -> ColumnElement[bool]:
    """VISIBLE_BY_RELATION in SQL; the visibilities inlined, as _PUBLIC is."""
    return Post.visibility.in_(
        [literal_column(f"'{visibility}'") for visibility in VISIBLE_BY_RELATION[relation]])


def relation_to(*, viewer_id: int | None, author_id: int, follows_author: bool) -> Relation:
    if viewer_id is not None and viewer_id == author_id:
        return "self"
    return "follower" if viewer_id is not None and follows_author else "public"


def may_see(*, viewer_id: int | None, author_id: int, visibility: str,
            follows_author: bool) -> bool:
    """visible_to for a post already read (from the cache)."""
    relation = relation_to(viewer_id=viewer_id, author_id=author_id,
                           follows_author=follows_author)
    return visibility in VISIBLE_BY_RELATION[relation]


async def visible_post(session: AsyncSession, *, post_id: int, viewer_id: int | None,
                       lock: RowLock | None = None) -> Post | None:
    query = select(Post).where(Post.id == post_id, visible_to(viewer_id))
    if lock is not None:
        query = query.with_for_update(**_LOCKS[lock])
    return await session.scalar(query.execution_options(populate_existing=True))


async def by_ids(session: AsyncSession, post_ids: list[int]) -> list[Post]:
    """The posts, whoever may see them, in no particular order; one query."""
    # populate_existing: counters moved by UPDATE statements must not come from the identity map.
    return list(await session.scalars(
        select(Post).where(Post.id.in_(post_ids)).execution_options(populate_existing=True)))


async def ids_with_media(session: AsyncSession, *, media_id: int, owner_id: int) -> list[int]:
    """The posts showing the media: only its owner may attach it, so ix_posts_author_created
    narrows the search to the owner's posts."""
    return list(await session.scalars(
        select(Post.id).where(Post.author_id == owner_id, Post.media_id == media_id)))


async def media_audience(session: AsyncSession, *, media_id: int, owner_id: int,
                         viewer_id: int | None) -> tuple[bool, bool]:
    """Whether the viewer may see a post showing the media, and whether anyone may (a public
    post shows it); one query, on the owner's posts as ids_with_media."""
    showing = select(Post.id).where(Post.author_id == owner_id, Post.media_id == media_id)
    seen, public = (await session.execute(select(
        showing.where(visible_to(viewer_id)).exists(),
        showing.where(Post.visibility == _PUBLIC).exists()))).one()
    return seen, public


async def media_owner(session: AsyncSession, media_id: int) -> int | None:
    """The owner of the media; the row stays locked against deletion until commit."""
    return await session.scalar(
        select(Media.owner_id).where(Media.id == media_id)
        .with_for_update(**_LOCKS["key share"]))


async def add_post(session: AsyncSession, **values: object) -> Post:
    post = Post(**values)
    session.add(post)
    await session.flush()
    await session.refresh(post)
    return post


async def update_post(session: AsyncSession, post: Post, **values: object) -> Post:
    for key, value in values.items():
        setattr(post, key, value)
    post.updated_at = func.now()
    await session.flush()
    await session.refresh(post)
    return post


async def delete_post(session: AsyncSession, post_id: int) -> None:
    await session.execute(delete(Post).where(Post.id == post_id))


async def add_like(session: AsyncSession, *, post_id: int, user_id: int) -> bool:
    """Insert the like and move the counter; False if it already existed."""
    inserted = await session.scalar(
        pg_insert(Like).values(post_id=post_id, user_id=user_id)
        .on_conflict_do_nothing().returning(Like.post_id)
    )
    if inserted is None:
        return False
    await _move_counter(session, post_id, Post.like_count, +1)
    return True


async def remove_like(session: AsyncSession, *, post_id: int, user_id: int) -> bool:
    deleted = await session.scalar(
        delete(Like).where(Like.post_id == post_id, Like.user_id == user_id)
        .returning(Like.post_id))
    if deleted is None:
        return False
    await _move_counter(session, post_id, Post.like_count, -1)
    return True


async def like_count(session: AsyncSession, post_id: int) -> int:
    return await session.scalar(select(Post.like_count).where(Post.id == post_id))


async def liked_among(session: AsyncSession, *, user_id: int, post_ids: list[int]) -> set[int]:
    """Which of the posts the user likes."""
    if not post_ids:
        return set()
    return set(await session.scalars(
        select(Like.post_id).where(Like.user_id == user_id, Like.post_id.in_(post_ids))))


async def add_comment(session: AsyncSession, *, post_id: int, author_id: int, body: str) -> Comment:
    comment = Comment(post_id=post_id, author_id=author_id, body=body)
    session.add(comment)
    await session.flush()
    await session.refresh(comment)
    await _move_counter(session, post_id, Post.comment_count, +1)
    return comment


async def comment_on(session: AsyncSession, *, post_id: int, comment_id: int) -> Comment | None:
    return await session.scalar(
        select(Comment).where(Comment.id == comment_id, Comment.post_id == post_id))


async def remove_comment(session: AsyncSession, *, post_id: int, comment_id: int) -> bool:
    deleted = await session.scalar(
        delete(Comment).where(Comment.id == comment_id, Comment.post_id == post_id)
        .returning(Comment.id))
    if deleted is None:
        return False
    await _move_counter(session, post_id, Post.comment_count, -1)
    return True


async def comments_page(session: AsyncSession, *, post_id: int, page: PageParams) -> list[Comment]:
    """Oldest first, as a thread is read; served by ix_comments_post_created."""
    query = (
        select(Comment).where(Comment.post_id == post_id)
        .order_by(Comment.created_at, Comment.id).limit(page.limit + 1)
    )
    if page.after:
        query = query.where(tuple_(Comment.created_at, Comment.id) > page.after)
    return list(await session.scalars(query))


async def _move_counter(session: AsyncSession, post_id: int, counter, step: int) -> None:
    # Relative update under the row lock, in the transaction that wrote the row it counts:
    # exact however many requests race.
    await session.execute(
        update(Post).where(Post.id == post_id).values({counter: counter + step})
        .execution_options(synchronize_session=False))
