"""All SQL of the feeds: keyset pages of posts, newest first, through the one visibility rule."""

from sqlalchemy import BigInteger, Select, literal, select, true, tuple_, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from lifeceo.community.posts.models import Post
from lifeceo.community.posts.repository import visible_to
from lifeceo.community.users.models import Follow
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


def timeline_query(*, author_id: int, viewer_id: int | None, page: PageParams) -> Select:
    """One author's posts; served by ix_posts_author_created."""
    return _newest_first(select(Post).where(Post.author_id == author_id, visible_to(viewer_id)),
                         page)


def home_query(*, viewer_id: int, page: PageParams) -> Select:
    """The viewer's posts and those of whom they follow.

    Each author's newest page is read from ix_posts_author_created (a LATERAL join), then the
    pieces are merged: the cost grows with the number of followees and the page size, not with
    how deep the page is or how much the authors wrote.
    """
    authors = union_all(
        select(Follow.followee_id.label("author_id")).where(Follow.follower_id == viewer_id),
        select(literal(viewer_id, BigInteger).label("author_id")),
    ).subquery("authors")
    per_author = _newest_first(
        select(Post).where(Post.author_id == authors.c.author_id, visible_to(viewer_id)), page,
    ).lateral("per_author")
    post = aliased(Post, per_author)
    return (select(post).select_from(authors).join(per_author, true())
            .order_by(post.created_at.desc(), post.id.desc()).limit(page.limit + 1))


async def public_page(session: AsyncSession, *, page: PageParams) -> list[Post]:
    return list(await session.scalars(public_query(page)))


async def timeline_page(session: AsyncSession, *, author_id: int, viewer_id: int | None,
                        page: PageParams) -> list[Post]:
    return list(await session.scalars(
        timeline_query(author_id=author_id, viewer_id=viewer_id, page=page)))


async def home_page(session: AsyncSession, *, viewer_id: int, page: PageParams) -> list[Post]:
    return list(await session.scalars(home_query(viewer_id=viewer_id, page=page)))
