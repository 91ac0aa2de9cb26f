"""HTTP endpoints of the feeds: home, public, trending, and one user's timeline. The pages come
from the service as JSON-ready PostPage data (often whole from the cache), sent as they are."""

from fastapi import APIRouter

from lifeceo.community.feed.schemas import PostPage
from lifeceo.community.feed.service import feed_service
from lifeceo.community.feed.trending import trending_service
from lifeceo.community.users.dependencies import CurrentUser, OptionalViewer
from lifeceo.community.users.schemas import UsernamePath
from lifeceo.platform.cache import AppCache
from lifeceo.platform.db.session import DbSession
from lifeceo.platform.http.pagination import Pagination
from lifeceo.platform.http.responses import json_response

router = APIRouter(tags=["feed"])


@router.get("/feed", response_model=PostPage)
async def home(user: CurrentUser, session: DbSession, cache: AppCache, page: Pagination):
    return json_response(
        await feed_service.home_page(session=session, cache=cache, viewer=user, page=page))


@router.get("/feed/public", response_model=PostPage)
async def public(viewer: OptionalViewer, session: DbSession, cache: AppCache, page: Pagination):
    return json_response(
        await feed_service.public_page(session=session, cache=cache, viewer=viewer, page=page))


@router.get("/feed/trending", response_model=PostPage)
async def trending(viewer: OptionalViewer, session: DbSession, cache: AppCache):
    """Up to 50 public posts of the last 24 hours, ranked hourly by likes and comments with
    time decay; those the viewer may no longer see are left out. next_cursor is always null."""
    return await trending_service.page(session=session, cache=cache, viewer=viewer)


@router.get("/users/{username}/posts", response_model=PostPage)
async def timeline(username: UsernamePath, viewer: OptionalViewer, session: DbSession,
                   cache: AppCache, page: Pagination):
    return json_response(await feed_service.timeline_page(
        session=session, cache=cache, viewer=viewer, username=username, page=page))
