"""Rules about accounts, sessions and follows."""

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.analytics.service import analytics_service
from lifeceo.community.caching import cached, cached_many
from lifeceo.community.emails.service import email_service
from lifeceo.community.notifications.service import notification_service
from lifeceo.community.users import cache_keys, repository
from lifeceo.community.users.models import User
from lifeceo.community.users.passwords import hash_password, verify_password
from lifeceo.community.users.schemas import Byline, PublicUser
from lifeceo.errors import Conflict, Forbidden, NotFound, Unauthorized
from lifeceo.platform.cache import MISSING, Cache
from lifeceo.platform.http.pagination import PageParams
from lifeceo.settings import get_settings


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def csrf_token_for(token: str) -> str:
    """The CSRF token of a session is derived from it, so nothing more is stored."""
    key = get_settings().resolved_secret_key().encode()
    return hmac.new(key, b"csrf:" + token.encode(), hashlib.sha256).hexdigest()


class UserService:
    async def register(self, *, session: AsyncSession, username: str, email: str, password: str) -> User:
        taken = await repository.username_or_email_taken(session, username=username, email=email)
        if taken:
            raise Conflict(f"That {taken} is already registered.", field=taken)
        user = User(username=username.lower(), email=email, password_hash=await hash_password(password))
        session.add(user)
        try:
            # Savepoint: a concurrent registration of the same name loses here, not at commit.
            async with session.begin_nested():
                await session.flush()
        except IntegrityError:
            raise Conflict("That username or email is already registered.") from None
        await session.refresh(user)
        await email_service.welcome(session=session, user=user)
        analytics_service.track(session=session, kind="signup", user_id=user.id)
        return user

    async def login(self, *, session: AsyncSession, login: str, password: str) -> tuple[str, datetime, User]:
        user = await repository.by_login(session, login)
        if not await verify_password(user.password_hash if user else None, password):
            raise Unauthorized("Unknown username or wrong password.")
        token = secrets.token_urlsafe(32)
        expires_at = datetime.now(UTC) + timedelta(seconds=get_settings().session_ttl_seconds)
        await repository.add_session(session, user_id=user.id, token_hash=token_hash(token),
                                     expires_at=expires_at)
        return token, expires_at, user

    async def logout(self, *, session: AsyncSession, cache: Cache, session_id: int) -> None:
        await repository.revoke_session(session, session_id)
        await cache.invalidate(tags=[cache_keys.session_tag(session_id)], session=session)

    async def authenticate(self, *, session: AsyncSession, cache: Cache, token: str,
                           for_write: bool) -> tuple[User, int] | None:
        """The token's user and session id. Reads may take them from the cache, where the user
        is a detached copy without its password hash; a write reads them in its transaction."""
        # Asked twice in a request (the rate limit's key, then the endpoint): the answer is kept
        # in the request's session, so the second asking costs nothing.
        known = session.info.setdefault("authenticated_tokens", {})
        digest = token_hash(token)
        if digest not in known:
            if for_write:
                found = await repository.user_for_token(session, digest)
                known[digest] = None if found is None else found[:2]
            else:
                known[digest] = await _cached_identity(session, cache, digest)
        return known[digest]

    async def get(self, *, session: AsyncSession, username: str) -> User:
        user = await repository.by_username(session, username)
        if user is None:
            raise NotFound(f"No user named {username!r}.")
        return user

    async def lookup(self, *, session: AsyncSession, cache: Cache,
                     usernames: list[str]) -> list[PublicUser]:
        """The profiles named, in the order asked; unknown names are absent, and those the
        cache lacks are read in one query."""
        wanted = list(dict.fromkeys(username.lower() for username in usernames))

        async def load(missing: list[str]) -> dict[str, dict]:
            return {user.username.lower(): _profile_entry_of(user)
                    for user in await repository.by_usernames(session, missing)}

        found = await cached_many(cache, session,
                                  {name: cache_keys.profile_key(name) for name in wanted},
                                  load, ttl=cache_keys.PROFILE_TTL_SECONDS)
        return [PublicUser.model_validate(found[name]["profile"])
                for name in wanted if name in found]

    async def profile(self, *, session: AsyncSession, cache: Cache, username: str) -> PublicUser:
        return PublicUser.model_validate(
            (await self._profile_entry(session=session, cache=cache, username=username))["profile"])

    async def id_of(self, *, session: AsyncSession, cache: Cache, username: str) -> int:
        """The id of the user named; NotFound if there is none."""
        return (await self._profile_entry(session=session, cache=cache, username=username))["id"]

    async def bylines(self, *, session: AsyncSession, cache: Cache,
                      user_ids: Iterable[int]) -> dict[int, Byline]:
        """How each of the users is named; the uncached ones read in one query."""
        async def load(missing: list[int]) -> dict[int, dict]:
            return {user.id: Byline.model_validate(user).model_dump(mode="json")
                    for user in await repository.by_ids(session, missing)}

        keys = {user_id: cache_keys.byline_key(user_id) for user_id in user_ids}
        found = await cached_many(cache, session, keys, load, ttl=cache_keys.BYLINE_TTL_SECONDS,
                                  tags=lambda user_id: [cache_keys.user_tag(user_id)])
        return {user_id: Byline.model_validate(byline) for user_id, byline in found.items()}

    async def following_ids(self, *, session: AsyncSession, cache: Cache,
                            user_id: int) -> list[int]:
        """Whom the user follows, sorted."""
        async def load() -> list[int]:
            return await repository.followee_ids(session, user_id)

        return await cached(cache, session, cache_keys.following_key(user_id), load,
                            ttl=cache_keys.FOLLOWING_TTL_SECONDS,
                            tags=[cache_keys.home_tag(user_id)])

    async def update_profile(self, *, session: AsyncSession, cache: Cache, user: User,
                             changes: dict) -> User:
        if "roles" in changes:
            changes["roles"] = sorted(set(changes["roles"]))
        user = await repository.update_user(session, user, **changes)
        await _forget_users(session, cache, [user])
        return user

    async def admin_update(self, *, session: AsyncSession, cache: Cache, actor: User,
                           username: str, changes: dict) -> User:
        if not actor.is_admin:
            raise Forbidden("Only administrators may change groups and roles.")
        user = await self.get(session=session, username=username)
        if "groups" in changes:
            changes["groups"] = sorted(set(changes["groups"]))
        user = await repository.update_user(session, user, **changes)
        await _forget_users(session, cache, [user])
        return user

    async def follow(self, *, session: AsyncSession, cache: Cache, follower: User,
                     username: str) -> User:
        followee = await self.get(session=session, username=username)
        if followee.id == follower.id:
            raise Forbidden("You cannot follow yourself.")
        if await repository.add_follow(session, follower_id=follower.id, followee_id=followee.id):
            await notification_service.notify(session=session, recipient_id=followee.id,
                                              actor_id=follower.id, kind="follow",
                                              subject_id=follower.id)
            await _forget_follow(session, cache, follower, followee)
        await session.refresh(followee)
        return followee

    async def unfollow(self, *, session: AsyncSession, cache: Cache, follower: User,
                       username: str) -> User:
        followee = await self.get(session=session, username=username)
        if await repository.remove_follow(session, follower_id=follower.id,
                                          followee_id=followee.id):
            await _forget_follow(session, cache, follower, followee)
        await session.refresh(followee)
        return followee

    async def followers(self, *, session: AsyncSession, username: str, page: PageParams):
        user = await self.get(session=session, username=username)
        return await repository.followers(session, user_id=user.id, page=page)

    async def following(self, *, session: AsyncSession, username: str, page: PageParams):
        user = await self.get(session=session, username=username)
        return await repository.following(session, user_id=user.id, page=page)

    async def _profile_entry(self, *, session: AsyncSession, cache: Cache, username: str) -> dict:
        async def load() -> dict:
            return _profile_entry_of(await self.get(session=session, username=username))

        # An unknown name raises NotFound inside load: nothing is cached for it.
        return await cached(cache, session, cache_keys.profile_key(username), load,
                            ttl=cache_keys.PROFILE_TTL_SECONDS)


def _profile_entry_of(user: User) -> dict:
    """What the cache holds under profile_key: the public profile, and the id it belongs to."""
    return {"id": user.id, "profile": PublicUser.model_validate(user).model_dump(mode="json")}


async def _forget_users(session: AsyncSession, cache: Cache, users: list[User]) -> None:
    """Profiles and bylines of the users, dropped everywhere when the request commits."""
    await cache.invalidate(tags=[cache_keys.user_tag(user.id) for user in users],
                           keys=[cache_keys.profile_key(user.username) for user in users],
                           session=session)


async def _forget_follow(session: AsyncSession, cache: Cache, follower: User,
                         followee: User) -> None:
    # Both counts changed (profiles, and the users as their sessions see them); so did whom
    # the follower follows, hence their home feed and which posts they may see.
    await cache.invalidate(tags=[cache_keys.home_tag(follower.id),
                                 cache_keys.user_tag(follower.id), cache_keys.user_tag(followee.id)],
                           keys=[cache_keys.profile_key(follower.username),
                                 cache_keys.profile_key(followee.username)],
                           session=session)


# Everything a request may read of its viewer; never the password hash, nor the search document.
_IDENTITY_COLUMNS = tuple(column for column in User.__table__.columns
                          if column.key not in {"password_hash", "search_vector"})


async def _cached_identity(session: AsyncSession, cache: Cache,
                           digest: bytes) -> tuple[User, int] | None:
    key = cache_keys.identity_key(digest)
    entry = await cache.get(key)
    if entry is MISSING:
        read_since = cache.mark()
        found = await repository.user_for_token(session, digest)
        if found is None:
            return None
        user, session_id, expires_at = found
        entry = {"user": {column.key: getattr(user, column.key) for column in _IDENTITY_COLUMNS},
                 "session_id": session_id}
        expires_in = (expires_at - datetime.now(UTC)).total_seconds()
        await cache.set(key, entry, read_since=read_since,
                        ttl=min(cache_keys.IDENTITY_TTL_SECONDS, expires_in),
                        tags=[cache_keys.user_tag(user.id), cache_keys.session_tag(session_id)])
        return user, session_id
    return _user_from(entry["user"]), entry["session_id"]


def _user_from(fields: dict) -> User:
    """A detached User from its cached fields (timestamps come back as ISO strings)."""
    return User(**{column.key: (datetime.fromisoformat(fields[column.key])
                                if column.type.python_type is datetime else fields[column.key])
                   for column in _IDENTITY_COLUMNS})


user_service = UserService()
