"""cleanup-old-data: what is past retention goes, in small batches; nothing else does."""

import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update
from tests import factories
from tests.integration.community.test_media import image_bytes
from tests.statements import statements

from lifeceo.community.analytics.models import AnalyticsEvent, AnalyticsHourly, RumSample
from lifeceo.community.analytics.tasks import aggregate_analytics, record_rum, track_events
from lifeceo.community.maintenance import tasks as maintenance
from lifeceo.community.maintenance.tasks import cleanup_old_data
from lifeceo.community.media.models import Media
from lifeceo.community.media.service import originals_in, variant_keys, variants_in
from lifeceo.community.media.tasks import process_media
from lifeceo.community.notifications.models import Notification
from lifeceo.community.users.models import AuthSession, User
from lifeceo.platform.queue import JobContext

NOW = datetime.now(UTC)
PAST = NOW - timedelta(days=91)  # the default retention is 90 days
WITHIN = NOW - timedelta(days=89)


@pytest.fixture
def ctx(app) -> JobContext:
    return JobContext(settings=app.state.settings, sessionmaker=app.state.sessionmaker,
                      cache=app.state.cache, engine=app.state.engine)


async def user_id(session, username: str) -> int:
    return await session.scalar(select(User.id).where(User.username == username))


async def add_notifications(session, recipient: int, actor: int,
                            rows: list[tuple[datetime, datetime | None]]) -> list[int]:
    """(last active, read_at) each."""
    ids = list(await session.scalars(insert(Notification).returning(Notification.id), [
        {"recipient_id": recipient, "actor_id": actor, "kind": "follow", "subject_id": actor,
         "created_at": active_at, "updated_at": active_at, "read_at": read_at}
        for active_at, read_at in rows]))
    await session.commit()
    return ids


async def upload(client, headers, ctx, session, *, uploaded_at: datetime) -> Media:
    response = await client.post("/api/v1/media", headers=headers,
                                 files={"file": ("photo.png", image_bytes("PNG"), "image/png")})
    assert response.status_code == 201, response.text
    media_id = response.json()["id"]
    await process_media(ctx, media_id=media_id)  # its variants, whether or not it ran already
    await session.execute(update(Media).where(Media.id == media_id).values(created_at=uploaded_at))
    await session.commit()
    return await session.scalar(select(Media).where(Media.id == media_id))


async def test_cleanup_deletes_exactly_what_is_past_retention(client, session, ctx):
    ana = await factories.user(client, "ana")
    await factories.user(client, "bob")
    ana_id, bob_id = await user_id(session, "ana"), await user_id(session, "bob")

    _, old_unread, recent_read = await add_notifications(
        session, ana_id, bob_id, [(PAST, PAST), (PAST, None), (WITHIN, NOW)])
    # Created long ago, but active (likes joining it) until recently.
    (revived,) = await add_notifications(session, ana_id, bob_id, [(PAST, NOW)])
    await session.execute(update(Notification).where(Notification.id == revived)
                          .values(updated_at=WITHIN))
    await session.commit()

    sessions = list(await session.scalars(insert(AuthSession).returning(AuthSession.id), [
        {"user_id": bob_id, "token_hash": os.urandom(32), "expires_at": NOW - timedelta(minutes=1)},
        {"user_id": bob_id, "token_hash": os.urandom(32), "expires_at": NOW + timedelta(days=1),
         "revoked_at": NOW - timedelta(minutes=1)}]))
    await session.commit()
    live_sessions = set(await session.scalars(
        select(AuthSession.id).where(AuthSession.id.not_in(sessions))))
    assert live_sessions  # ana's and bob's logins

    await track_events(ctx, batch_id=str(uuid.uuid4()), events=[
        {"kind": kind, "user_id": None, "subject_id": None, "occurred_at": at.isoformat()}
        for kind, at in (("signup", PAST), ("like", PAST), ("like", WITHIN))])
    await aggregate_analytics(ctx, timestamp=int(PAST.timestamp()))
    for received_at in (PAST, WITHIN):
        await record_rum(ctx, sample_id=str(uuid.uuid4()), received_at=received_at.isoformat(),
                         url="/feed", lcp_ms=1.0, inp_ms=None, cls=None, ttfb_ms=None,
                         load_ms=None)

    orphan = await upload(client, ana, ctx, session, uploaded_at=PAST)
    shown = await upload(client, ana, ctx, session, uploaded_at=PAST)
    fresh = await upload(client, ana, ctx, session, uploaded_at=WITHIN)
    post = await client.post("/api/v1/posts", headers=ana,
                             json={"body": "Milonga", "media_id": shown.id})
    assert post.status_code == 201, post.text
    originals, variants = originals_in(ctx.settings), variants_in(ctx.settings)
    assert variant_keys(orphan), "the media was processed into variants"

    await cleanup_old_data(ctx)

    assert set(await session.scalars(select(Notification.id))) == {
        old_unread, recent_read, revived}
    assert set(await session.scalars(select(AuthSession.id))) == live_sessions
    # (The signups of this test's users are today's.)
    assert [(row.kind, row.occurred_at) for row in await session.scalars(
        select(AnalyticsEvent).where(AnalyticsEvent.occurred_at < WITHIN + timedelta(days=1)))
            ] == [("like", WITHIN)]
    # The counts outlive the raw rows.
    assert {(row.kind, row.count) for row in await session.scalars(select(AnalyticsHourly))} == {
        ("signup", 1), ("like", 1)}
    assert list(await session.scalars(select(RumSample.received_at))) == [WITHIN]
    assert set(await session.scalars(select(Media.id))) == {shown.id, fresh.id}
    assert not await originals.exists(orphan.storage_key)
    for key in variant_keys(orphan):
        assert not await variants.exists(key)
    for kept in (shown, fresh):
        assert await originals.exists(kept.storage_key)
        assert all([await variants.exists(key) for key in variant_keys(kept)])
    assert (await client.get("/api/v1/me", headers=ana)).status_code == 200

    # A second run finds nothing more to delete.
    await cleanup_old_data(ctx)
    assert set(await session.scalars(select(Media.id))) == {shown.id, fresh.id}
    assert len(list(await session.scalars(select(Notification.id)))) == 3


async def test_deletes_go_in_small_transactions(client, session, ctx, monkeypatch):
    await factories.user(client, "ana")
    await factories.user(client, "bob")
    ana_id, bob_id = await user_id(session, "ana"), await user_id(session, "bob")
    # Unread ones between the read ones: the walk along the ids steps over them.
    rows = [(PAST, PAST if i % 3 else None) for i in range(9)]
    ids = await add_notifications(session, ana_id, bob_id, rows)
    monkeypatch.setattr(maintenance, "BATCH_ROWS", 2)

    with statements(ctx.engine) as sent:
        await cleanup_old_data(ctx)
    deletes = [statement for statement in sent
               if statement.lstrip().upper().startswith("DELETE FROM NOTIFICATIONS")]
    assert len(deletes) == 4  # 6 rows, 2 at a time, and the short batch that ends the walk
    kept = [notification_id for notification_id, (_, read_at) in zip(ids, rows) if read_at is None]
    assert list(await session.scalars(select(Notification.id).order_by(Notification.id))) == kept


async def test_retention_is_a_setting(client, session, ctx, monkeypatch):
    await factories.user(client, "ana")
    await factories.user(client, "bob")
    ana_id, bob_id = await user_id(session, "ana"), await user_id(session, "bob")
    week_old, day_old = await add_notifications(
        session, ana_id, bob_id, [(NOW - timedelta(days=8), NOW), (NOW - timedelta(days=1), NOW)])
    monkeypatch.setattr(ctx.settings, "retention_days", 7)
    await cleanup_old_data(ctx)
    assert list(await session.scalars(select(Notification.id))) == [day_old]
    assert week_old != day_old
