"""Trending posts: the public posts of the last 24 hours that people like and discuss most,
newer ones favoured. The calculate-trending job ranks them hourly into trending_posts; the
route serves that ranking (cached 15 minutes) as each viewer may see it now.

    score = (likes + 2 x comments) / (age_hours + 2) ^ 1.5

A comment costs more effort than a like, so it weighs double. The decay is Hacker News'
gravity: the 2 hours keep a post of a few minutes from dividing by almost nothing, and with the
exponent 1.5 a post of 22 hours needs 8 times the engagement of one of 4 hours to rank with it
((24/6)^1.5). Posts nobody liked or commented on are not trending, however new."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, Float, bindparam, cast, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.caching import cached
from lifeceo.community.feed.models import TrendingPost
from lifeceo.community.feed.schemas import PostPage
from lifeceo.community.posts.models import Post
from lifeceo.community.posts.repository import visible_to
from lifeceo.community.posts.service import post_service
from lifeceo.community.users.models import User
from lifeceo.platform.cache import Cache

WINDOW_HOURS = 24
SIZE = 50
COMMENT_WEIGHT = 2
AGE_OFFSET_HOURS = 2
GRAVITY = 1.5
# REFERENCE.md: trending was cached 900 s. The job drops the entry when it stores a new ranking;
# the TTL bounds how long a worker serves one after a missed invalidation.
CACHE_KEY = "feed:trending"
TTL_SECONDS = 900


def _score(now: datetime):
    age_hours = cast(func.extract("epoch", bindparam("now", now, type_=DateTime(timezone=True))
                                  - Post.created_at), Float) / 3600
    engagement = Post.like_count + COMMENT_WEIGHT * Post.comment_count
    return engagement / func.power(age_hours + AGE_OFFSET_HOURS, GRAVITY)


async def rank(session: AsyncSession, *, now: datetime) -> list[tuple[int, float]]:
    """The top posts as of `now`: (post id, score), best first. Only the window's public posts
    are read, from ix_posts_public_created."""
    score = _score(now).label("score")
    query = (
        select(Post.id, score)
        .where(visible_to(None), Post.created_at > now - timedelta(hours=WINDOW_HOURS),
               Post.created_at <= now, Post.like_count + Post.comment_count > 0)
        .order_by(score.desc(), Post.id.desc()).limit(SIZE)
    )
    return [(post_id, value) for post_id, value in await session.execute(query)]


async def store(session: AsyncSession, *, ranking: list[tuple[int, float]],
                computed_at: datetime) -> None:
    """Replace the stored ranking; readers see the old one until the transaction commits."""
    await session.execute(delete(TrendingPost))
    if ranking:
        await session.execute(insert(TrendingPost), [
            {"rank": place, "post_id": post_id, "score": score, "computed_at": computed_at}
            for place, (post_id, score) in enumerate(ranking, start=1)])


async def stored_ids(session: AsyncSession) -> list[int]:
    return list(await session.scalars(select(TrendingPost.post_id).order_by(TrendingPost.rank)))


class TrendingService:
    async def recalculate(self, *, session: AsyncSession, cache: Cache, now: datetime) -> int:
        """Rank, store, and drop every worker's cached ranking when this commits."""
        ranking = await rank(session, now=now)
        await store(session, ranking=ranking, computed_at=now)
        await cache.invalidate(keys=[CACHE_KEY], session=session)
        return len(ranking)

    async def page(self, *, session: AsyncSession, cache: Cache, viewer: User | None) -> PostPage:
        """The stored ranking, without the posts the viewer may not see (now: a post made
        private since it was ranked is dropped). While none is stored (the job has not run yet,
        or nothing trended), the ranking is computed for the request."""
        async def ranked_ids() -> list[int]:
            return (await stored_ids(session)
                    or [post_id for post_id, _ in await rank(session, now=datetime.now(UTC))])

        post_ids = await cached(cache, session, CACHE_KEY, ranked_ids, ttl=TTL_SECONDS)
        items = await post_service.hydrate(session=session, cache=cache, viewer=viewer,
                                           post_ids=post_ids)
        return PostPage(items=items, next_cursor=None)


trending_service = TrendingService()
