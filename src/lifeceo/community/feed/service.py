"""Rules of the feeds: who sees which posts, page by page."""

from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.feed import repository
from lifeceo.community.feed.schemas import PostPage
from lifeceo.community.posts.models import Post
from lifeceo.community.posts.service import post_service
from lifeceo.community.users.models import User
from lifeceo.community.users.service import user_service
from lifeceo.platform.http.pagination import PageParams, page_of


class FeedService:
    async def home_page(self, *, session: AsyncSession, viewer: User,
                        page: PageParams) -> PostPage:
        rows = await repository.home_page(session, viewer_id=viewer.id, page=page)
        return await self._page(session=session, viewer=viewer, rows=rows, page=page)

    async def public_page(self, *, session: AsyncSession, viewer: User | None,
                          page: PageParams) -> PostPage:
        rows = await repository.public_page(session, page=page)
        return await self._page(session=session, viewer=viewer, rows=rows, page=page)

    async def timeline_page(self, *, session: AsyncSession, viewer: User | None, username: str,
                            page: PageParams) -> PostPage:
        author = await user_service.get(session=session, username=username)
        rows = await repository.timeline_page(session, author_id=author.id,
                                              viewer_id=viewer.id if viewer else None,
                                              page=page)
        return await self._page(session=session, viewer=viewer, rows=rows, page=page)

    async def _page(self, *, session: AsyncSession, viewer: User | None, rows: list[Post],
                    page: PageParams) -> PostPage:
        rows, next_cursor = page_of(rows, page)
        items = await post_service.present(session=session, viewer=viewer, posts=rows)
        return PostPage(items=items, next_cursor=next_cursor)


feed_service = FeedService()
