"""Rules about posts, comments and likes: who may see, change and remove what."""

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.analytics.service import analytics_service
from lifeceo.community.caching import cached_many
from lifeceo.community.media.presentation import media_images
from lifeceo.community.media.schemas import MediaImage
from lifeceo.community.notifications.service import mentioned_usernames, notification_service
from lifeceo.community.posts import cache_keys, repository
from lifeceo.community.posts.models import Comment, Post
from lifeceo.community.posts.repository import RowLock
from lifeceo.community.posts.schemas import AuthorOut, CommentOut, LikeState, PostEntry, PostOut
from lifeceo.community.users.models import User
from lifeceo.community.users.repository import by_ids, by_usernames, is_following
from lifeceo.community.users.schemas import Byline
from lifeceo.community.users.service import user_service
from lifeceo.errors import Forbidden, NotFound, Unprocessable
from lifeceo.platform.cache import Cache
from lifeceo.platform.http.pagination import PageParams, page_of
from lifeceo.platform.httpcache import add_surrogate_keys


class PostService:
    async def create(self, *, session: AsyncSession, cache: Cache, author: User, body: str,
                     tags: list[str], visibility: str, media_id: int | None) -> PostOut:
        await self._check_media(session=session, owner=author, media_id=media_id)
        post = await repository.add_post(session, author_id=author.id, body=body, tags=tags,
                                         visibility=visibility, media_id=media_id)
        await self._notify_mentions(session=session, post=post, actor=author, body=body,
                                    source=f"mention:post:{post.id}")
        await cache.invalidate(tags=_listing_tags(author.id, visibility), session=session)
        images = await _images(session, cache, [post])
        return _post_out(post, author, liked=False, media=images.get(post.media_id))

    async def get(self, *, session: AsyncSession, cache: Cache, viewer: User | None,
                  post_id: int) -> PostOut:
        found = await self.hydrate(session=session, cache=cache, viewer=viewer, post_ids=[post_id])
        # A post the viewer may not see is reported exactly like one that does not exist.
        if not found:
            raise NotFound(f"No post {post_id}.")
        analytics_service.track(session=session, kind="post_viewed",
                                user_id=viewer.id if viewer else None, subject_id=post_id)
        return found[0]

    async def lookup(self, *, session: AsyncSession, cache: Cache, viewer: User | None,
                     post_ids: list[int]) -> list[PostOut]:
        """The posts the viewer may see, in the order asked; unknown and hidden ones are absent."""
        return await self.hydrate(session=session, cache=cache, viewer=viewer, post_ids=post_ids)

    async def hydrate(self, *, session: AsyncSession, cache: Cache, viewer: User | None,
                      post_ids: list[int],
                      fresh: Mapping[int, PostEntry] | None = None) -> list[PostOut]:
        """Those of the posts that exist and the viewer may see, in the order given, as the viewer
        sees them. `fresh` holds entries just read from the database; the others come from the
        cache, and what it misses is read in one query, as are the bylines it misses and the
        viewer's likes."""
        entries = dict(fresh or {})
        wanted = list(dict.fromkeys(post_ids))
        missing = [post_id for post_id in wanted if post_id not in entries]
        if missing:
            entries |= await self._entries(session=session, cache=cache, post_ids=missing)
        # Checked on every read, whoever read the entry first: it is shared by all viewers.
        posts = await self._visible_among(session=session, cache=cache, viewer=viewer,
                                          posts=[entries[i] for i in wanted if i in entries])
        bylines = await user_service.bylines(session=session, cache=cache,
                                             user_ids={post.author_id for post in posts})
        liked = (await self._liked_among(session=session, cache=cache, viewer=viewer,
                                         post_ids=[post.id for post in posts])
                 if viewer else set())
        images = await _images(session, cache, posts)
        return [_post_out(post, bylines[post.author_id], liked=post.id in liked,
                          media=images.get(post.media_id))
                for post in posts if post.author_id in bylines]

    async def _liked_among(self, *, session: AsyncSession, cache: Cache, viewer: User,
                           post_ids: list[int]) -> set[int]:
        if not post_ids:
            return set()

        async def load(missing: list[int]) -> dict[int, bool]:
            liked = await repository.liked_among(session, user_id=viewer.id, post_ids=missing)
            return {post_id: post_id in liked for post_id in missing}

        found = await cached_many(
            cache, session, {post_id: cache_keys.liked_key(viewer.id, post_id)
                             for post_id in post_ids},
            load, ttl=cache_keys.LIKED_TTL_SECONDS)
        return {post_id for post_id, liked in found.items() if liked}

    async def update(self, *, session: AsyncSession, cache: Cache, actor: User, post_id: int,
                     changes: dict) -> PostOut:
        post = await self._own(session=session, actor=actor, post_id=post_id, lock="no key update")
        await self._check_media(session=session, owner=actor, media_id=changes.get("media_id"))
        if changes:
            visibility_before, media_before = post.visibility, post.media_id
            post = await repository.update_post(session, post, **changes)
            if post.visibility != visibility_before or post.media_id != media_before:
                _revise_media_audience(media_before, post.media_id)
            if {"body", "visibility"} & changes.keys():
                # Those named since, or who may see the post now; nobody is told twice.
                await self._notify_mentions(session=session, post=post, actor=actor,
                                            body=post.body, source=f"mention:post:{post.id}")
            # The pages listing posts only change when the post enters or leaves one of them.
            rescoped = post.visibility != visibility_before
            await cache.invalidate(
                keys=[cache_keys.post_key(post.id)],
                tags=_listing_tags(actor.id, visibility_before, post.visibility) if rescoped else (),
                session=session)
        return (await self.present(session=session, cache=cache, viewer=actor, posts=[post]))[0]

    async def delete(self, *, session: AsyncSession, cache: Cache, actor: User,
                     post_id: int) -> None:
        post = await self._own(session=session, actor=actor, post_id=post_id, lock="update")
        await cache.invalidate(keys=[cache_keys.post_key(post_id)],
                               tags=_listing_tags(actor.id, post.visibility), session=session)
        await repository.delete_post(session, post_id)
        _revise_media_audience(post.media_id)

    async def like(self, *, session: AsyncSession, cache: Cache, user: User,
                   post_id: int) -> LikeState:
        post = await self._visible(session=session, viewer=user, post_id=post_id, lock="key share")
        if await repository.add_like(session, post_id=post.id, user_id=user.id):
            await notification_service.notify(session=session, recipient_id=post.author_id,
                                              actor_id=user.id, kind="like", subject_id=post.id)
            analytics_service.track(session=session, kind="like", user_id=user.id,
                                    subject_id=post.id)
            await _forget_post(session, cache, post.id, liker_id=user.id)
        return LikeState(liked=True, like_count=await repository.like_count(session, post.id))

    async def unlike(self, *, session: AsyncSession, cache: Cache, user: User,
                     post_id: int) -> LikeState:
        post = await self._visible(session=session, viewer=user, post_id=post_id, lock="key share")
        if await repository.remove_like(session, post_id=post.id, user_id=user.id):
            await _forget_post(session, cache, post.id, liker_id=user.id)
        return LikeState(liked=False, like_count=await repository.like_count(session, post.id))

    async def media_removed(self, *, session: AsyncSession, cache: Cache, media_id: int,
                            owner_id: int) -> None:
        """The posts showing the media lose it (ON DELETE SET NULL): drop their cached copies."""
        post_ids = await repository.ids_with_media(session, media_id=media_id, owner_id=owner_id)
        if post_ids:
            await cache.invalidate(keys=[cache_keys.post_key(post_id) for post_id in post_ids],
                                   session=session)

    async def media_audience(self, *, session: AsyncSession, media_id: int, owner_id: int,
                             viewer_id: int | None) -> tuple[bool, bool]:
        """Whether the viewer may see a post showing the media, and whether a public post does."""
        return await repository.media_audience(session, media_id=media_id, owner_id=owner_id,
                                               viewer_id=viewer_id)

    async def comments(self, *, session: AsyncSession, viewer: User | None, post_id: int,
                       page: PageParams) -> tuple[list[CommentOut], str | None]:
        post = await self._visible(session=session, viewer=viewer, post_id=post_id)
        rows, next_cursor = page_of(
            await repository.comments_page(session, post_id=post.id, page=page), page)
        authors = await _authors(session, {row.author_id for row in rows})
        return [_comment_out(row, authors[row.author_id]) for row in rows], next_cursor

    async def comment(self, *, session: AsyncSession, cache: Cache, author: User, post_id: int,
                      body: str) -> CommentOut:
        post = await self._visible(session=session, viewer=author, post_id=post_id,
                                   lock="key share")
        comment = await repository.add_comment(session, post_id=post.id, author_id=author.id,
                                               body=body)
        await notification_service.notify(session=session, recipient_id=post.author_id,
                                          actor_id=author.id, kind="comment", subject_id=post.id,
                                          source=f"comment:{comment.id}")
        await self._notify_mentions(session=session, post=post, actor=author, body=body,
                                    source=f"mention:comment:{comment.id}",
                                    told={post.author_id})
        await _forget_post(session, cache, post.id)
        return _comment_out(comment, author)

    async def delete_comment(self, *, session: AsyncSession, cache: Cache, actor: User,
                             post_id: int, comment_id: int) -> None:
        post = await self._visible(session=session, viewer=actor, post_id=post_id,
                                   lock="key share")
        comment = await repository.comment_on(session, post_id=post.id, comment_id=comment_id)
        if comment is None:
            raise NotFound(f"Post {post_id} has no comment {comment_id}.")
        if actor.id not in (comment.author_id, post.author_id):
            raise Forbidden("Only the comment's author or the post's author may delete it.")
        if not await repository.remove_comment(session, post_id=post.id, comment_id=comment_id):
            raise NotFound(f"Post {post_id} has no comment {comment_id}.")
        await _forget_post(session, cache, post.id)

    async def present(self, *, session: AsyncSession, cache: Cache, viewer: User | None,
                      posts: list[Post]) -> list[PostOut]:
        """Posts just written, as the viewer sees them, read around the cache: one query for the
        authors, one for the viewer's likes."""
        authors = await _authors(session, {post.author_id for post in posts})
        liked = (await repository.liked_among(session, user_id=viewer.id,
                                              post_ids=[post.id for post in posts])
                 if viewer else set())
        images = await _images(session, cache, posts)
        return [_post_out(post, authors[post.author_id], liked=post.id in liked,
                          media=images.get(post.media_id)) for post in posts]

    async def _entries(self, *, session: AsyncSession, cache: Cache,
                       post_ids: list[int]) -> dict[int, PostEntry]:
        async def load(missing: list[int]) -> dict[int, dict]:
            return {post.id: PostEntry.model_validate(post).model_dump(mode="json")
                    for post in await repository.by_ids(session, missing)}

        found = await cached_many(cache, session, {i: cache_keys.post_key(i) for i in post_ids},
                                  load, ttl=cache_keys.POST_TTL_SECONDS)
        return {post_id: PostEntry.model_validate(entry) for post_id, entry in found.items()}

    async def _visible_among(self, *, session: AsyncSession, cache: Cache, viewer: User | None,
                             posts: list[PostEntry]) -> list[PostEntry]:
        """repository.visible_to, applied in Python; whom the viewer follows is asked of the
        cache only when a followers-only post of someone else is among them."""
        viewer_id = viewer.id if viewer else None
        followed: set[int] = set()
        if viewer_id is not None and any(post.visibility == "followers"
                                         and post.author_id != viewer_id for post in posts):
            followed = set(await user_service.following_ids(session=session, cache=cache,
                                                            user_id=viewer_id))
        return [post for post in posts
                if repository.may_see(viewer_id=viewer_id, author_id=post.author_id,
                                      visibility=post.visibility,
                                      follows_author=post.author_id in followed)]

    async def _notify_mentions(self, *, session: AsyncSession, post: Post, actor: User,
                               body: str, source: str, told: set[int] | None = None) -> None:
        """Notify the users @mentioned in `body` who may see the post (a mention must not show
        a private post to someone it is hidden from); `told` already hear of it otherwise."""
        usernames = mentioned_usernames(body)
        if not usernames:
            return
        for user in await by_usernames(session, usernames):
            if user.id == actor.id or user.id in (told or ()):
                continue
            follows = post.visibility == "followers" and await is_following(
                session, follower_id=user.id, followee_id=post.author_id)
            if repository.may_see(viewer_id=user.id, author_id=post.author_id,
                                  visibility=post.visibility, follows_author=follows):
                await notification_service.notify(
                    session=session, recipient_id=user.id, actor_id=actor.id, kind="mention",
                    subject_id=post.id, source=source)

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


async def _forget_post(session: AsyncSession, cache: Cache, post_id: int, *,
                       liker_id: int | None = None) -> None:
    """A count or the content changed, not which pages list the post; and, when someone
    liked or unliked it, whether they like it."""
    liked = [cache_keys.liked_key(liker_id, post_id)] if liker_id else []
    await cache.invalidate(keys=[cache_keys.post_key(post_id), *liked], session=session)


def _revise_media_audience(*media_ids: int | None) -> None:
    """Who may read a post's media follows who may see the post: shared caches (Varnish) drop
    their copies of media whose post changed its audience or went."""
    add_surrogate_keys(*(f"media:{media_id}" for media_id in media_ids if media_id is not None))


def _listing_tags(author_id: int, *visibilities: str) -> list[str]:
    """The pages that list a post of the author with any of these visibilities."""
    tags = cache_keys.written_by(author_id)
    return [*tags, cache_keys.PUBLIC_FEED_TAG] if "public" in visibilities else tags


async def _images(session: AsyncSession, cache: Cache,
                  posts: list[Post] | list[PostEntry]) -> dict[int, MediaImage]:
    """How the posts' media are shown: cached apart from the posts, so that processing an image
    drops one entry, not every post and page showing it."""
    return await media_images(session=session, cache=cache,
                              media_ids={post.media_id for post in posts if post.media_id})


def _post_out(post: Post | PostEntry, author: User | Byline, *, liked: bool,
              media: MediaImage | None) -> PostOut:
    return PostOut(
        id=post.id, author=AuthorOut.model_validate(author), body=post.body, tags=post.tags,
        visibility=post.visibility, media_id=post.media_id, media=media,
        like_count=post.like_count, comment_count=post.comment_count, liked_by_me=liked,
        created_at=post.created_at, updated_at=post.updated_at,
    )


def _comment_out(comment: Comment, author: User) -> CommentOut:
    return CommentOut(id=comment.id, post_id=comment.post_id,
                      author=AuthorOut.model_validate(author), body=comment.body,
                      created_at=comment.created_at)


post_service = PostService()
