"""HTTP endpoints of the feeds: home, public, and one user's timeline."""

from fastapi import APIRouter

from lifeceo.community.feed.schemas import PostPage
from lifeceo.community.feed.service import feed_service
from lifeceo.community.users.dependencies import CurrentUser, OptionalViewer
from lifeceo.community.users.schemas import UsernamePath
from lifeceo.platform.cache import AppCache
from lifeceo.platform.db.session import DbSession
from lifeceo.platform.http.pagination import Pagination

router = APIRouter(tags=["feed"])


@router.get("/feed", response_model=PostPage)
async def home(user: CurrentUser, session: DbSession, cache: AppCache, page: Pagination):
    return await feed_service.home_page(session=session, cache=cache, viewer=user, page=page)


@router.get("/feed/public", response_model=PostPage)
async def public(viewer: OptionalViewer, session: DbSession, cache: AppCache, page: Pagination):
    return await feed_service.public_page(session=session, cache=cache, viewer=viewer, page=page)


@router.get("/users/{username}/posts", response_model=PostPage)
async def timeline(username: UsernamePath, viewer: OptionalViewer, session: DbSession,
                   cache: AppCache, page: Pagination):
    return await feed_service.timeline_page(session=session, cache=cache, viewer=viewer,
                                            username=username, page=page)
