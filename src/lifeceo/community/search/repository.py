"""The SQL of search beyond the index: filters in each domain's terms, and loading the hits."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.events.models import Event
from lifeceo.community.posts.models import Post
from lifeceo.community.posts.repository import visible_beyond_public, visible_to
from lifeceo.community.users.models import User


def post_filters(*, only_for: int | None, author_id: int | None, tags: list[str],
                 posted_after: datetime | None,
                 posted_before: datetime | None) -> list[ColumnElement[bool]]:
    """The posts' own visibility rule first: search shows nobody what the feeds would not.
    `only_for`: None, the public posts (what everyone may see); a user's id, what only they may
    see besides (their own posts, followers-only posts of those they follow)."""
    filters = [visible_to(None) if only_for is None else visible_beyond_public(only_for)]
    if author_id is not None:
        filters.append(Post.author_id == author_id)
    if tags:
        filters.append(Post.tags.contains(tags))
    if posted_after is not None:
        filters.append(Post.created_at >= posted_after)
    if posted_before is not None:
        filters.append(Post.created_at < posted_before)
    return filters


def user_filters(*, city: str | None, role: str | None) -> list[ColumnElement[bool]]:
    filters = []
    if city:
        filters.append(func.lifeceo_search_fold(User.city) == func.lifeceo_search_fold(city))
    if role:
        filters.append(User.roles.contains([role]))
    return filters


def event_filters(*, city: str | None, starts_after: datetime | None,
                  starts_before: datetime | None, price_min: Decimal | None,
                  price_max: Decimal | None, include_past: bool) -> list[ColumnElement[bool]]:
    """Cancelled events never; past ones only when asked."""
    filters = [Event.cancelled_at.is_(None)]
    if not include_past:
        filters.append(Event.ends_at > func.now())
    if city:
        filters.append(func.lifeceo_search_fold(Event.city) == func.lifeceo_search_fold(city))
    if starts_after is not None:
        filters.append(Event.starts_at >= starts_after)
    if starts_before is not None:
        filters.append(Event.starts_at < starts_before)
    if price_min is not None:
        filters.append(Event.price >= price_min)
    if price_max is not None:
        filters.append(Event.price <= price_max)
    return filters


async def users_by_ids(session: AsyncSession, user_ids: list[int]) -> dict[int, User]:
    if not user_ids:
        return {}
    return {user.id: user
            for user in await session.scalars(select(User).where(User.id.in_(user_ids)))}


async def events_by_ids(session: AsyncSession,
                        event_ids: list[int]) -> dict[int, tuple[Event, str, str]]:
    """The events with their organizers' username and display name."""
    if not event_ids:
        return {}
    rows = await session.execute(
        select(Event, User.username, User.display_name)
        .join(User, User.id == Event.organizer_id).where(Event.id.in_(event_ids)))
    return {event.id: (event, username, display_name) for event, username, display_name in rows}


async def usernames_starting(session: AsyncSession, prefix: str, *, limit: int) -> list[str]:
    """People whose username starts with the prefix, most followed first (ix_users_username_trgm
    serves the LIKE)."""
    pattern = prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return list(await session.scalars(
        select(User.username).where(User.username.like(pattern))
        .order_by(User.followers_count.desc(), User.username).limit(limit)))
