"""The SQL of search beyond the index: filters in each domain's terms, and loading the hits."""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, DateTime, Text, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.events.models import Event
from lifeceo.community.posts.models import Post
from lifeceo.community.posts.repository import visible_beyond_public, visible_to
from lifeceo.community.users.models import User


@dataclass(frozen=True)
class Filters:
    """A search's filters: expressions of named bind parameters and the parameters' values.
    The expressions depend only on which filters are given (the shape), are built once per
    shape, and searches of one shape share one statement."""

    shape: tuple[str, ...]
    expressions: tuple[ColumnElement[bool], ...]
    parameters: dict[str, Any]


def post_filters(*, only_for: int | None, author_id: int | None, tags: list[str],
                 posted_after: datetime | None, posted_before: datetime | None) -> Filters:
    """The posts' own visibility rule first: search shows nobody what the feeds would not.
    `only_for`: None, the public posts (what everyone may see); a user's id, what only they may
    see besides (their own posts, followers-only posts of those they follow)."""
    return _shaped("posts", _post_conditions, {
        "only_for": only_for, "author_id": author_id, "tags": tags or None,
        "posted_after": posted_after, "posted_before": posted_before})


def user_filters(*, city: str | None, role: str | None) -> Filters:
    return _shaped("users", _user_conditions,
                   {"city": city or None, "roles": [role] if role else None})


def event_filters(*, city: str | None, starts_after: datetime | None,
                  starts_before: datetime | None, price_min: Decimal | None,
                  price_max: Decimal | None, include_past: bool) -> Filters:
    """Cancelled events never; past ones only when asked."""
    return _shaped("events", _event_conditions, {
        "upcoming": None if include_past else True, "city": city or None,
        "starts_after": starts_after, "starts_before": starts_before,
        "price_min": price_min, "price_max": price_max})


def _shaped(kind: str, conditions: Callable[[frozenset[str]], tuple[ColumnElement[bool], ...]],
            values: dict[str, Any]) -> Filters:
    given = {name: value for name, value in values.items() if value is not None}
    return Filters(shape=(kind, *given), expressions=conditions(frozenset(given)),
                   parameters=given)


@functools.cache
def _post_conditions(names: frozenset[str]) -> tuple[ColumnElement[bool], ...]:
    conditions = [visible_beyond_public(bindparam("only_for", type_=BigInteger))
                  if "only_for" in names else visible_to(None)]
    if "author_id" in names:
        conditions.append(Post.author_id == bindparam("author_id", type_=BigInteger))
    if "tags" in names:
        conditions.append(Post.tags.contains(bindparam("tags", type_=Post.tags.type)))
    if "posted_after" in names:
        conditions.append(Post.created_at >= bindparam("posted_after", type_=DateTime(True)))
    if "posted_before" in names:
        conditions.append(Post.created_at < bindparam("posted_before", type_=DateTime(True)))
    return tuple(conditions)


@functools.cache
def _user_conditions(names: frozenset[str]) -> tuple[ColumnElement[bool], ...]:
    conditions = []
    if "city" in names:
        conditions.append(func.lifeceo_search_fold(User.city)
                          == func.lifeceo_search_fold(bindparam("city", type_=Text)))
    if "roles" in names:
        conditions.append(User.roles.contains(bindparam("roles", type_=User.roles.type)))
    return tuple(conditions)


@functools.cache
def _event_conditions(names: frozenset[str]) -> tuple[ColumnElement[bool], ...]:
    conditions = [Event.cancelled_at.is_(None)]
    if "upcoming" in names:
        conditions.append(Event.ends_at > func.now())
    if "city" in names:
        conditions.append(func.lifeceo_search_fold(Event.city)
                          == func.lifeceo_search_fold(bindparam("city", type_=Text)))
    if "starts_after" in names:
        conditions.append(Event.starts_at >= bindparam("starts_after", type_=DateTime(True)))
    if "starts_before" in names:
        conditions.append(Event.starts_at < bindparam("starts_before", type_=DateTime(True)))
    if "price_min" in names:
        conditions.append(Event.price >= bindparam("price_min", type_=Event.price.type))
    if "price_max" in names:
        conditions.append(Event.price <= bindparam("price_max", type_=Event.price.type))
    return tuple(conditions)


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
