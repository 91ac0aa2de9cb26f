"""All SQL about users, sessions and follows."""

from datetime import datetime

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.users.models import AuthSession, Follow, User
from lifeceo.platform.http.pagination import PageParams


async def by_username(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(select(User).where(func.lower(User.username) == username.lower()))


async def by_usernames(session: AsyncSession, usernames: list[str]) -> list[User]:
    """The users among lower-case usernames, in no particular order; served by
    uq_users_username_lower."""
    return list(await session.scalars(select(User).where(func.lower(User.username).in_(usernames))))


async def by_login(session: AsyncSession, login: str) -> User | None:
    """A user by username or email, case-insensitively."""
    login = login.lower()
    return await session.scalar(
        select(User).where(or_(func.lower(User.username) == login, func.lower(User.email) == login))
    )


async def by_ids(session: AsyncSession, ids: list[int]) -> list[User]:
    return list(await session.scalars(select(User).where(User.id.in_(ids))))


async def username_or_email_taken(session: AsyncSession, *, username: str, email: str) -> str | None:
    """Which of the two is taken, if either."""
    taken = await session.execute(
        select(func.lower(User.username) == username.lower(), func.lower(User.email) == email.lower())
        .where(or_(func.lower(User.username) == username.lower(),
                   func.lower(User.email) == email.lower()))
    )
    for username_taken, _email_taken in taken:
        return "username" if username_taken else "email"
    return None


async def add_session(session: AsyncSession, *, user_id: int, token_hash: bytes,
                      expires_at: datetime) -> AuthSession:
    row = AuthSession(user_id=user_id, token_hash=token_hash, expires_at=expires_at)
    session.add(row)
    await session.flush()
    return row


async def user_for_token(session: AsyncSession,
                         token_hash: bytes) -> tuple[User, int, datetime] | None:
    """The user, session id and expiry of a live session's token."""
    row = (await session.execute(
        select(User, AuthSession.id, AuthSession.expires_at)
        .join(AuthSession, AuthSession.user_id == User.id).where(
            AuthSession.token_hash == token_hash,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > func.now(),
        )
    )).first()
    return (row[0], row[1], row[2]) if row else None


async def revoke_session(session: AsyncSession, session_id: int) -> None:
    await session.execute(
        update(AuthSession).where(AuthSession.id == session_id).values(revoked_at=func.now()))


async def add_follow(session: AsyncSession, *, follower_id: int, followee_id: int) -> bool:
    """Insert the follow and move both counters; False if it already existed."""
    inserted = await session.scalar(
        pg_insert(Follow).values(follower_id=follower_id, followee_id=followee_id)
        .on_conflict_do_nothing().returning(Follow.follower_id)
    )
    if inserted is None:
        return False
    await _move_follow_counters(session, follower_id, followee_id, +1)
    return True


async def remove_follow(session: AsyncSession, *, follower_id: int, followee_id: int) -> bool:
    deleted = await session.scalar(
        delete(Follow).where(Follow.follower_id == follower_id, Follow.followee_id == followee_id)
        .returning(Follow.follower_id)
    )
    if deleted is None:
        return False
    await _move_follow_counters(session, follower_id, followee_id, -1)
    return True


async def _move_follow_counters(session: AsyncSession, follower_id: int, followee_id: int,
                                step: int) -> None:
    # Relative updates under the row lock: exact however many requests race.
    await session.execute(update(User).where(User.id == followee_id)
                          .values(followers_count=User.followers_count + step))
    await session.execute(update(User).where(User.id == follower_id)
                          .values(following_count=User.following_count + step))


async def is_following(session: AsyncSession, *, follower_id: int, followee_id: int) -> bool:
    return await session.scalar(
        select(func.count()).select_from(Follow)
        .where(Follow.follower_id == follower_id, Follow.followee_id == followee_id)
    ) > 0


async def followee_ids(session: AsyncSession, user_id: int) -> list[int]:
    """Whom the user follows, sorted; served by the primary key (follower_id, followee_id)."""
    return list(await session.scalars(
        select(Follow.followee_id).where(Follow.follower_id == user_id)
        .order_by(Follow.followee_id)))


async def followers(session: AsyncSession, *, user_id: int, page: PageParams) -> list[tuple[User, datetime]]:
    return await _follow_page(session, page, Follow.followee_id == user_id, Follow.follower_id)


async def following(session: AsyncSession, *, user_id: int, page: PageParams) -> list[tuple[User, datetime]]:
    return await _follow_page(session, page, Follow.follower_id == user_id, Follow.followee_id)


async def _follow_page(session: AsyncSession, page: PageParams, where, other_id) -> list[tuple[User, datetime]]:
    query = (
        select(User, Follow.created_at).join(Follow, other_id == User.id).where(where)
        .order_by(Follow.created_at.desc(), other_id.desc()).limit(page.limit + 1)
    )
    if page.after:
        created_at, row_id = page.after
        query = query.where(
            or_(Follow.created_at < created_at, and_(Follow.created_at == created_at, other_id < row_id)))
    return [(user, created_at) for user, created_at in await session.execute(query)]


async def update_user(session: AsyncSession, user: User, **values: object) -> User:
    for key, value in values.items():
        setattr(user, key, value)
    await session.flush()
    return user


async def insert_users(session: AsyncSession, rows: list[dict]) -> None:
    """Bulk insert for the seeder."""
    await session.execute(insert(User), rows)
