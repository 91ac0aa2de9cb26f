"""HTTP endpoints of posts, their comments and likes."""


from fastapi import APIRouter, Response, status

from lifeceo.community.media.presentation import preload_link
from lifeceo.community.posts.schemas import (
    CommentCreate,
    CommentOut,
    LikeState,
    PostCreate,
    PostOut,
    PostUpdate,
)
from lifeceo.community.posts.service import post_service
from lifeceo.community.users.dependencies import CurrentUser, OptionalViewer, optional_viewer
from lifeceo.platform.batch.lookup import Items, RowIds
from lifeceo.platform.cache import AppCache
from lifeceo.platform.db.session import DbSession
from lifeceo.platform.http.pagination import Page, Pagination, RowId
from lifeceo.platform.ratelimit import rate_limit

router = APIRouter(tags=["posts"])


@router.post("/posts", status_code=status.HTTP_201_CREATED, response_model=PostOut,
             dependencies=[rate_limit("content", viewer=optional_viewer)])
async def create_post(body: PostCreate, user: CurrentUser, session: DbSession, cache: AppCache):
    return await post_service.create(session=session, cache=cache, author=user,
                                     **body.model_dump())


@router.get("/posts", response_model=Items[PostOut])
async def lookup_posts(ids: RowIds, viewer: OptionalViewer, session: DbSession,
                       cache: AppCache):
    """Several posts by id, in the order asked; those the viewer may not see are absent."""
    return Items[PostOut](items=await post_service.lookup(session=session, cache=cache,
                                                          viewer=viewer, post_ids=ids))


@router.get("/posts/{post_id}", response_model=PostOut)
async def get_post(post_id: RowId, viewer: OptionalViewer, session: DbSession, cache: AppCache,
                   response: Response):
    post = await post_service.get(session=session, cache=cache, viewer=viewer, post_id=post_id)
    if preload := preload_link(post.media):
        response.headers["link"] = preload
    return post


@router.patch("/posts/{post_id}", response_model=PostOut)
async def update_post(post_id: RowId, body: PostUpdate, user: CurrentUser, session: DbSession,
                      cache: AppCache):
    return await post_service.update(session=session, cache=cache, actor=user, post_id=post_id,
                                     changes=body.model_dump(exclude_unset=True))


@router.delete("/posts/{post_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_post(post_id: RowId, user: CurrentUser, session: DbSession,
                      cache: AppCache) -> Response:
    await post_service.delete(session=session, cache=cache, actor=user, post_id=post_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/posts/{post_id}/like", response_model=LikeState)
async def like(post_id: RowId, user: CurrentUser, session: DbSession, cache: AppCache):
    return await post_service.like(session=session, cache=cache, user=user, post_id=post_id)


@router.delete("/posts/{post_id}/like", response_model=LikeState)
async def unlike(post_id: RowId, user: CurrentUser, session: DbSession, cache: AppCache):
    return await post_service.unlike(session=session, cache=cache, user=user, post_id=post_id)


@router.get("/posts/{post_id}/comments", response_model=Page[CommentOut])
async def list_comments(post_id: RowId, viewer: OptionalViewer, session: DbSession,
                        page: Pagination):
    items, next_cursor = await post_service.comments(session=session, viewer=viewer,
                                                     post_id=post_id, page=page)
    return Page[CommentOut](items=items, next_cursor=next_cursor)


@router.post("/posts/{post_id}/comments", status_code=status.HTTP_201_CREATED,
             response_model=CommentOut,
             dependencies=[rate_limit("content", viewer=optional_viewer)])
async def create_comment(post_id: RowId, body: CommentCreate, user: CurrentUser,
                         session: DbSession, cache: AppCache):
    return await post_service.comment(session=session, cache=cache, author=user,
                                      post_id=post_id, body=body.body)


@router.delete("/posts/{post_id}/comments/{comment_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_comment(post_id: RowId, comment_id: RowId, user: CurrentUser,
                         session: DbSession, cache: AppCache) -> Response:
    await post_service.delete_comment(session=session, cache=cache, actor=user,
                                      post_id=post_id, comment_id=comment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
