"""All SQL of retention: each function deletes one batch of what is past it, so that no
transaction holds its row locks for long, and reports what it deleted."""

from datetime import datetime

from sqlalchemy import delete, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.analytics.models import AnalyticsEvent, RumSample
from lifeceo.community.media.models import Media
from lifeceo.community.notifications.models import Notification
from lifeceo.community.posts.models import Post
from lifeceo.community.users.models import AuthSession


async def delete_read_notifications(session: AsyncSession, *, cutoff: datetime, after_id: int,
                                    limit: int) -> list[int]:
    """Read notifications whose latest activity was before `cutoff` (their actions go with
    them), the first `limit` with an id above `after_id` (the caller passes the last id it got:
    one walk along the primary key, however many unread ones are skipped on the way). Unread
    ones are kept, however old."""
    batch = (select(Notification.id)
             .where(Notification.id > after_id, Notification.read_at.is_not(None),
                    Notification.updated_at < cutoff)
             .order_by(Notification.id).limit(limit))
    return list(await session.scalars(
        delete(Notification).where(Notification.id.in_(batch)).returning(Notification.id)))


async def delete_ended_sessions(session: AsyncSession, *, now: datetime, after_id: int,
                                limit: int) -> list[int]:
    """Login sessions that expired or were revoked: their tokens can never be used again."""
    batch = (select(AuthSession.id)
             .where(AuthSession.id > after_id,
                    or_(AuthSession.expires_at < now, AuthSession.revoked_at.is_not(None)))
             .order_by(AuthSession.id).limit(limit))
    return list(await session.scalars(
        delete(AuthSession).where(AuthSession.id.in_(batch)).returning(AuthSession.id)))


async def delete_events_before(session: AsyncSession, *, cutoff: datetime, limit: int) -> int:
    """The oldest raw analytics events, up to `limit`, that occurred before `cutoff`; served by
    ix_analytics_events_occurred. Their hourly counts stay."""
    oldest = (select(AnalyticsEvent.batch_id, AnalyticsEvent.seq)
              .where(AnalyticsEvent.occurred_at < cutoff)
              .order_by(AnalyticsEvent.occurred_at).limit(limit))
    return (await session.execute(
        delete(AnalyticsEvent)
        .where(tuple_(AnalyticsEvent.batch_id, AnalyticsEvent.seq).in_(oldest)))).rowcount


async def delete_rum_before(session: AsyncSession, *, cutoff: datetime, limit: int) -> int:
    """The oldest browser timing samples, up to `limit`, received before `cutoff`."""
    oldest = (select(RumSample.id).where(RumSample.received_at < cutoff)
              .order_by(RumSample.received_at).limit(limit))
    return (await session.execute(delete(RumSample).where(RumSample.id.in_(oldest)))).rowcount


async def lock_orphan_media(session: AsyncSession, *, cutoff: datetime,
                            limit: int) -> list[Media]:
    """Media uploaded before `cutoff` that no post shows, locked until commit.

    The lock conflicts with the one a post takes on the media it attaches (posts.repository.
    media_owner), and rows being attached right now are skipped: what is returned stays an
    orphan until this transaction ends."""
    shown = select(Post.id).where(Post.media_id == Media.id).exists()
    return list(await session.scalars(
        select(Media).where(Media.created_at < cutoff, ~shown)
        .order_by(Media.id).limit(limit).with_for_update(skip_locked=True)))


async def delete_media(session: AsyncSession, media_ids: list[int]) -> None:
    await session.execute(delete(Media).where(Media.id.in_(media_ids)))
