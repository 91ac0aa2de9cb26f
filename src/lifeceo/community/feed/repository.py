"""All SQL of the feeds: keyset pages of posts, newest first, as posts.repository lets each
viewer see them."""

from sqlalchemy import BigInteger, Select, bindparam, func, or_, select, true, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from lifeceo.community.posts.models import Post
from lifeceo.community.posts.repository import Relation, visible_in, visible_to
from lifeceo.platform.http.pagination import PageParams


def _newest_first(query: Select, page: PageParams) -> Select:
    # A row comparison, so that PostgreSQL walks (created_at DESC, id DESC) indexes from the
    # cursor on: a deep page costs what the first one does.
    if page.after:
        query = query.where(tuple_(Post.created_at, Post.id) < page.after)
    return query.order_by(Post.created_at.desc(), Post.id.desc()).limit(page.limit + 1)


def public_query(page: PageParams) -> Select:
    """Everything an anonymous visitor may see; served by ix_posts_public_created."""
    return _newest_first(select(Post).where(visible_to(None)), page)


def timeline_query(*, author_id: int, relation: Relation, page: PageParams) -> Select:
    """One author's posts as seen by a viewer in that relation to them; served by
    ix_posts_author_created.

    The visibility follows from the relation (visible_in), not from the follows table
    read now: the page is cached for everyone in the relation, which the caller knows."""
    return _newest_first(select(Post).where(Post.author_id == author_id, visible_in(relation)),
                         page)


def home_query(*, viewer_id: int, author_ids: list[int], page: PageParams) -> Select:
    """The posts of `author_ids`, the viewer and whom they follow, as the viewer sees them.

    Each author's newest page is read from ix_posts_author_created (a LATERAL join), then the
    pieces are merged: the cost grows with the number of followees and the page size, not with
    how deep the page is or how much the authors wrote. The followees are given rather than
    read from the follows table, so that the page is exactly what the caller's list implies
    (the cache keys it by that list)."""
    authors = select(func.unnest(bindparam("author_ids", author_ids, type_=ARRAY(BigInteger)))
                     .label("author_id")).subquery("authors")
    per_author = _newest_first(
        select(Post).where(Post.author_id == authors.c.author_id,
                           or_(Post.author_id == viewer_id, visible_in("follower"))), page,
    ).lateral("per_author")
    post = aliased(Post, per_author)
    return (select(post).select_from(authors).join(per_author, true())
            .order_by(post.created_at.desc(), post.id.desc()).limit(page.limit + 1))


async def public_page(session: AsyncSession, *, page: PageParams) -> list[Post]:
    return list(await session.scalars(public_query(page)))


async def timeline_page(session: AsyncSession, *, author_id: int, relation: Relation,
                        page: PageParams) -> list[Post]:
    return list(await session.scalars(
        timeline_query(author_id=author_id, relation=relation, page=page)))


async def home_page(session: AsyncSession, *, viewer_id: int, author_ids: list[int],
                    page: PageParams) -> list[Post]:
    return list(await session.scalars(
        home_query(viewer_id=viewer_id, author_ids=author_ids, page=page)))
