"""Rules about posts, comments and likes: who may see, change and remove what."""

from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.notifications.service import notification_service
from lifeceo.community.posts import repository
from lifeceo.community.posts.models import Comment, Post
from lifeceo.community.posts.repository import RowLock
from lifeceo.community.posts.schemas import AuthorOut, CommentOut, LikeState, PostOut
from lifeceo.community.users.models import User
from lifeceo.community.users.repository import by_ids
from lifeceo.errors import Forbidden, NotFound, Unprocessable
from lifeceo.platform.http.pagination import PageParams, page_of


class PostService:
    async def create(self, *, session: AsyncSession, author: User, body: str, tags: list[str],
                     visibility: str, media_id: int | None) -> PostOut:
        await self._check_media(session=session, owner=author, media_id=media_id)
        post = await repository.add_post(session, author_id=author.id, body=body, tags=tags,
                                         visibility=visibility, media_id=media_id)
        return _post_out(post, author, liked=False)

    async def get(self, *, session: AsyncSession, viewer: User | None, post_id: int) -> PostOut:
        post = await self._visible(session=session, viewer=viewer, post_id=post_id)
        return (await self.present(session=session, viewer=viewer, posts=[post]))[0]

    async def update(self, *, session: AsyncSession, actor: User, post_id: int,
                     changes: dict) -> PostOut:
        post = await self._own(session=session, actor=actor, post_id=post_id, lock="no key update")
        await self._check_media(session=session, owner=actor, media_id=changes.get("media_id"))
        if changes:
            post = await repository.update_post(session, post, **changes)
        return (await self.present(session=session, viewer=actor, posts=[post]))[0]

    async def delete(self, *, session: AsyncSession, actor: User, post_id: int) -> None:
        await self._own(session=session, actor=actor, post_id=post_id, lock="update")
        await repository.delete_post(session, post_id)

    async def like(self, *, session: AsyncSession, user: User, post_id: int) -> LikeState:
        post = await self._visible(session=session, viewer=user, post_id=post_id, lock="key share")
        if await repository.add_like(session, post_id=post.id, user_id=user.id):
            await notification_service.notify(session=session, recipient_id=post.author_id,
                                              actor_id=user.id, kind="like", subject_id=post.id)
        return LikeState(liked=True, like_count=await repository.like_count(session, post.id))

    async def unlike(self, *, session: AsyncSession, user: User, post_id: int) -> LikeState:
        post = await self._visible(session=session, viewer=user, post_id=post_id, lock="key share")
        await repository.remove_like(session, post_id=post.id, user_id=user.id)
        return LikeState(liked=False, like_count=await repository.like_count(session, post.id))

    async def comments(self, *, session: AsyncSession, viewer: User | None, post_id: int,
                       page: PageParams) -> tuple[list[CommentOut], str | None]:
        post = await self._visible(session=session, viewer=viewer, post_id=post_id)
        rows, next_cursor = page_of(
            await repository.comments_page(session, post_id=post.id, page=page), page)
        authors = await _authors(session, {row.author_id for row in rows})
        return [_comment_out(row, authors[row.author_id]) for row in rows], next_cursor

    async def comment(self, *, session: AsyncSession, author: User, post_id: int,
                      body: str) -> CommentOut:
        post = await self._visible(session=session, viewer=author, post_id=post_id,
                                   lock="key share")
        comment = await repository.add_comment(session, post_id=post.id, author_id=author.id,
                                               body=body)
        await notification_service.notify(session=session, recipient_id=post.author_id,
                                          actor_id=author.id, kind="comment", subject_id=post.id)
        return _comment_out(comment, author)

    async def delete_comment(self, *, session: AsyncSession, actor: User, post_id: int,
                             comment_id: int) -> None:
        post = await self._visible(session=session, viewer=actor, post_id=post_id,
                                   lock="key share")
        comment = await repository.comment_on(session, post_id=post.id, comment_id=comment_id)
        if comment is None:
            raise NotFound(f"Post {post_id} has no comment {comment_id}.")
        if actor.id not in (comment.author_id, post.author_id):
            raise Forbidden("Only the comment's author or the post's author may delete it.")
        if not await repository.remove_comment(session, post_id=post.id, comment_id=comment_id):
            raise NotFound(f"Post {post_id} has no comment {comment_id}.")

    async def present(self, *, session: AsyncSession, viewer: User | None,
                      posts: list[Post]) -> list[PostOut]:
        """Posts as the viewer sees them: one query for the authors, one for the viewer's likes."""
        authors = await _authors(session, {post.author_id for post in posts})
        liked = (await repository.liked_among(session, user_id=viewer.id,
                                              post_ids=[post.id for post in posts])
                 if viewer else set())
        return [_post_out(post, authors[post.author_id], liked=post.id in liked) for post in posts]

    async def _visible(self, *, session: AsyncSession, viewer: User | None, post_id: int,
                       lock: RowLock | None = None) -> Post:
        # A post the viewer may not see is reported exactly like one that does not exist.
        post = await repository.visible_post(session, post_id=post_id,
                                             viewer_id=viewer.id if viewer else None, lock=lock)
        if post is None:
            raise NotFound(f"No post {post_id}.")
        return post

    async def _own(self, *, session: AsyncSession, actor: User, post_id: int,
                   lock: RowLock) -> Post:
        post = await self._visible(session=session, viewer=actor, post_id=post_id, lock=lock)
        if post.author_id != actor.id:
            raise Forbidden("Only the author may change or delete a post.")
        return post

    async def _check_media(self, *, session: AsyncSession, owner: User,
                           media_id: int | None) -> None:
        if media_id is None:
            return
        # Someone else's media and missing media look the same, so ids do not leak ownership.
        if await repository.media_owner(session, media_id) != owner.id:
            raise Unprocessable(f"You have no media {media_id}.", field="media_id")


async def _authors(session: AsyncSession, ids: set[int]) -> dict[int, User]:
    return {user.id: user for user in await by_ids(session, list(ids))} if ids else {}


def _post_out(post: Post, author: User, *, liked: bool) -> PostOut:
    return PostOut(
        id=post.id, author=AuthorOut.model_validate(author), body=post.body, tags=post.tags,
        visibility=post.visibility, media_id=post.media_id, like_count=post.like_count,
        comment_count=post.comment_count, liked_by_me=liked, created_at=post.created_at,
        updated_at=post.updated_at,
    )


def _comment_out(comment: Comment, author: User) -> CommentOut:
    return CommentOut(id=comment.id, post_id=comment.post_id,
                      author=AuthorOut.model_validate(author), body=comment.body,
                      created_at=comment.created_at)


post_service = PostService()
