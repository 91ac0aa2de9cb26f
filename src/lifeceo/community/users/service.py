"""Rules about accounts, sessions and follows."""

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.notifications.service import notification_service
from lifeceo.community.users import repository
from lifeceo.community.users.models import User
from lifeceo.community.users.passwords import hash_password, verify_password
from lifeceo.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
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

    async def logout(self, *, session: AsyncSession, session_id: int) -> None:
        await repository.revoke_session(session, session_id)

    async def authenticate(self, *, session: AsyncSession, token: str) -> tuple[User, int] | None:
        return await repository.user_for_token(session, token_hash(token))

    async def get(self, *, session: AsyncSession, username: str) -> User:
        user = await repository.by_username(session, username)
        if user is None:
            raise NotFound(f"No user named {username!r}.")
        return user

    async def update_profile(self, *, session: AsyncSession, user: User, changes: dict) -> User:
        if "roles" in changes:
            changes["roles"] = sorted(set(changes["roles"]))
        return await repository.update_user(session, user, **changes)

    async def admin_update(self, *, session: AsyncSession, actor: User, username: str,
                           changes: dict) -> User:
        if not actor.is_admin:
            raise Forbidden("Only administrators may change groups and roles.")
        user = await self.get(session=session, username=username)
        if "groups" in changes:
            changes["groups"] = sorted(set(changes["groups"]))
        return await repository.update_user(session, user, **changes)

    async def follow(self, *, session: AsyncSession, follower: User, username: str) -> User:
        followee = await self.get(session=session, username=username)
        if followee.id == follower.id:
            raise BadRequest("You cannot follow yourself.")
        if await repository.add_follow(session, follower_id=follower.id, followee_id=followee.id):
            await notification_service.notify(session=session, recipient_id=followee.id,
                                              actor_id=follower.id, kind="follow",
                                              subject_id=follower.id)
        await session.refresh(followee)
        return followee

    async def unfollow(self, *, session: AsyncSession, follower: User, username: str) -> User:
        followee = await self.get(session=session, username=username)
        await repository.remove_follow(session, follower_id=follower.id, followee_id=followee.id)
        await session.refresh(followee)
        return followee

    async def followers(self, *, session: AsyncSession, username: str, page: PageParams):
        user = await self.get(session=session, username=username)
        return await repository.followers(session, user_id=user.id, page=page)

    async def following(self, *, session: AsyncSession, username: str, page: PageParams):
        user = await self.get(session=session, username=username)
        return await repository.following(session, user_id=user.id, page=page)


user_service = UserService()
