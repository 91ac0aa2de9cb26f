"""Rules of the feeds: who sees which posts, page by page.

A page is cached as the ids of its posts and its next cursor, under a key naming everything its
content depends on; the posts themselves come from their own entries (post_service.hydrate), so
that a like or an edit drops one post, not every page that lists it."""

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.caching import cached, composed, own_session
from lifeceo.community.feed import cache_keys, repository
from lifeceo.community.feed.schemas import PostPage
from lifeceo.community.posts import cache_keys as post_keys
from lifeceo.community.posts.models import Post
from lifeceo.community.posts.repository import Relation, relation_to
from lifeceo.community.posts.schemas import PostEntry
from lifeceo.community.posts.service import post_service
from lifeceo.community.users.cache_keys import home_tag
from lifeceo.community.users.models import User
from lifeceo.community.users.service import user_service
from lifeceo.platform.cache import Cache
from lifeceo.platform.http.pagination import PageParams, page_of


class FeedService:
    async def home_page(self, *, session: AsyncSession, cache: Cache, viewer: User,
                        page: PageParams) -> dict:
        followed = await user_service.following_ids(session=session, cache=cache,
                                                    user_id=viewer.id)
        authors = sorted({viewer.id, *followed})
        return await self._page(
            session=session, cache=cache, viewer=viewer, page=page,
            key=cache_keys.home_key(viewer.id, authors, page), ttl=cache_keys.PAGE_TTL_SECONDS,
            # Whom the viewer follows (home), and a new or re-scoped post of any of them.
            tags=[home_tag(viewer.id), *post_keys.authors_tags(authors)],
            read=lambda: repository.home_page(session, viewer_id=viewer.id, author_ids=authors,
                                              page=page))

    async def public_page(self, *, session: AsyncSession, cache: Cache, viewer: User | None,
                          page: PageParams) -> dict:
        return await self._page(
            session=session, cache=cache, viewer=viewer, page=page,
            key=cache_keys.public_key(page), ttl=cache_keys.PUBLIC_TTL_SECONDS,
            tags=[post_keys.PUBLIC_FEED_TAG],
            read=lambda: repository.public_page(session, page=page),
            # The same for every viewer, and its short TTL expires under the readers: the page
            # the cache warms (the warm-cache job, the monitor's warm lever).
            reread=lambda own: repository.public_page(own, page=page))

    async def timeline_page(self, *, session: AsyncSession, cache: Cache, viewer: User | None,
                            username: str, page: PageParams) -> dict:
        author_id = await user_service.id_of(session=session, cache=cache, username=username)
        relation = await self._relation(session=session, cache=cache, viewer=viewer,
                                        author_id=author_id)
        return await self._page(
            session=session, cache=cache, viewer=viewer, page=page,
            key=cache_keys.timeline_key(author_id, relation, page),
            ttl=cache_keys.PAGE_TTL_SECONDS, tags=[post_keys.author_tag(author_id)],
            read=lambda: repository.timeline_page(session, author_id=author_id,
                                                  relation=relation, page=page))

    async def _relation(self, *, session: AsyncSession, cache: Cache, viewer: User | None,
                        author_id: int) -> Relation:
        follows = viewer is not None and viewer.id != author_id and author_id in (
            await user_service.following_ids(session=session, cache=cache, user_id=viewer.id))
        return relation_to(viewer_id=viewer.id if viewer else None, author_id=author_id,
                           follows_author=follows)

    async def _page(self, *, session: AsyncSession, cache: Cache, viewer: User | None,
                    page: PageParams, key: str, ttl: float, tags: list[str],
                    read: Callable[[], Awaitable[list[Post]]],
                    reread: Callable[[AsyncSession], Awaitable[list[Post]]] | None = None
                    ) -> dict:
        """The page as JSON-ready data (a PostPage), whole from the cache when it can be.
        `reread`, the listing's query in a session of its own, makes its ids warmable."""
        refresh = None
        if reread is not None:
            engine = session.bind

            async def refresh() -> dict:
                async with own_session(engine) as own:
                    rows, next_cursor = page_of(await reread(own), page)
                return {"ids": [post.id for post in rows], "next_cursor": next_cursor}

        async def render() -> dict:
            # Posts read for the page by this request serve it directly: no second query.
            fresh: dict[int, PostEntry] = {}

            async def listing() -> dict:
                rows, next_cursor = page_of(await read(), page)
                fresh.update((post.id, PostEntry.model_validate(post)) for post in rows)
                return {"ids": [post.id for post in rows], "next_cursor": next_cursor}

            listed = await cached(cache, session, key, listing, ttl=ttl, tags=tags,
                                  refresh=refresh)
            items = await post_service.hydrate(session=session, cache=cache, viewer=viewer,
                                               post_ids=listed["ids"], fresh=fresh)
            return PostPage(items=items, next_cursor=listed["next_cursor"]).model_dump(mode="json")

        return await composed(cache, cache_keys.view_key(viewer.id if viewer else None, key),
                              render)


feed_service = FeedService()
