"""Tracked events: staged with the request's transaction, buffered per process, written in bulk
by track-events, counted per hour by analytics-aggregate, read by administrators."""

import asyncio
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from tests import factories
from tests.statements import statements

from lifeceo.community.analytics.buffer import EventBuffer, buffer_for
from lifeceo.community.analytics.models import AnalyticsEvent, AnalyticsHourly
from lifeceo.community.analytics.service import analytics_service
from lifeceo.community.analytics.tasks import aggregate_analytics, track_events
from lifeceo.community.users.models import User
from lifeceo.platform.queue import JobContext
from lifeceo.platform.queue.context import bind

HOURLY = "/api/v1/admin/analytics/hourly"
HOUR = datetime(2025, 3, 1, 20, tzinfo=UTC)


@pytest.fixture
def ctx(app) -> JobContext:
    return JobContext(settings=app.state.settings, sessionmaker=app.state.sessionmaker,
                      cache=app.state.cache, engine=app.state.engine)


@pytest.fixture
async def buffer(app, session) -> EventBuffer:
    """The application's buffer, emptied of what earlier tests left, with their rows gone."""
    await app.state.event_buffer.flush()
    await session.execute(text("TRUNCATE analytics_events, analytics_hourly"))
    await session.commit()
    return app.state.event_buffer


def event(kind: str, at: datetime, user_id: int | None = None, subject_id: int | None = None):
    return {"kind": kind, "user_id": user_id, "subject_id": subject_id,
            "occurred_at": at.isoformat()}


async def kinds(session) -> list[str]:
    return sorted(await session.scalars(select(AnalyticsEvent.kind)))


async def admin(client, session, username: str = "boss") -> dict[str, str]:
    headers = await factories.user(client, username)
    await session.execute(update(User).where(User.username == username).values(is_admin=True))
    await session.commit()
    return headers


async def test_many_events_are_one_insert_and_a_second_run_adds_nothing(ctx, session, buffer):
    events = [event("post_viewed", HOUR + timedelta(seconds=i), user_id=i, subject_id=7)
              for i in range(500)] + [event("signup", HOUR, user_id=None)]
    batch_id = str(uuid.uuid4())
    with statements(ctx.engine) as sent:
        await track_events(ctx, batch_id=batch_id, events=events)
    inserts = [statement for statement in sent if statement.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1 and "analytics_events" in inserts[0]
    assert await session.scalar(select(func.count()).select_from(AnalyticsEvent)) == 501

    await track_events(ctx, batch_id=batch_id, events=events)
    assert await session.scalar(select(func.count()).select_from(AnalyticsEvent)) == 501
    first = await session.scalar(select(AnalyticsEvent).where(AnalyticsEvent.seq == 1))
    assert (first.kind, first.user_id, first.subject_id, first.occurred_at) == (
        "post_viewed", 0, 7, HOUR)


async def test_signup_view_and_like_are_tracked_once_committed(client, session, buffer):
    ana = await factories.user(client, "ana")
    bob = await factories.user(client, "bob")
    post = (await client.post("/api/v1/posts", headers=ana, json={"body": "Milonga"})).json()
    assert (await client.get(f"/api/v1/posts/{post['id']}")).status_code == 200
    assert (await client.post(f"/api/v1/posts/{post['id']}/like", headers=bob)).status_code == 200
    # Liking again changes nothing, and a failed signup commits nothing: neither is an event.
    assert (await client.post(f"/api/v1/posts/{post['id']}/like", headers=bob)).status_code == 200
    taken = await client.post("/api/v1/auth/register", json={
        "username": "ana", "email": "other@example.org", "password": factories.PASSWORD})
    assert taken.status_code == 409

    await buffer.flush()  # what the periodic flush has not taken yet
    assert await kinds(session) == ["like", "post_viewed", "signup", "signup"]
    bob_id = await session.scalar(select(User.id).where(User.username == "bob"))
    like = await session.scalar(select(AnalyticsEvent).where(AnalyticsEvent.kind == "like"))
    assert (like.user_id, like.subject_id) == (bob_id, post["id"])
    view = await session.scalar(select(AnalyticsEvent).where(AnalyticsEvent.kind == "post_viewed"))
    assert (view.user_id, view.subject_id) == (None, post["id"])


@pytest.fixture
async def own_buffer(app, database_url):
    """`await own_buffer(**settings)`: an engine of its own (whose jobs run inline, as the
    application's do) and its buffer."""
    async with AsyncExitStack() as stack:

        async def start(**overrides) -> tuple[AsyncEngine, EventBuffer]:
            engine = create_async_engine(
                database_url.replace("postgresql://", "postgresql+psycopg://"))
            stack.push_async_callback(engine.dispose)
            sessions = async_sessionmaker(engine, expire_on_commit=False)
            jobs = JobContext(settings=app.state.settings, sessionmaker=sessions,
                              cache=app.state.cache, engine=engine)
            bind(jobs)  # forgotten with the engine
            buffer = EventBuffer.start(app.state.settings.model_copy(update=overrides), engine,
                                       sessions)
            stack.push_async_callback(buffer.close)
            return engine, buffer

        yield start


async def test_only_a_committed_outer_transaction_hands_its_events_over(own_buffer, buffer):
    engine, quiet = await own_buffer()
    async with async_sessionmaker(engine)() as db:
        await db.execute(text("SELECT 1"))
        analytics_service.track(session=db, kind="search", user_id=1)
        await db.rollback()
        assert quiet.pending == 0

        await db.execute(text("SELECT 1"))
        async with db.begin_nested():
            analytics_service.track(session=db, kind="search", user_id=2)
        assert quiet.pending == 0  # the savepoint is released, the transaction still open
        await db.commit()
        assert quiet.pending == 1

        # Nothing open: nothing to wait for.
        analytics_service.track(session=db, kind="search", user_id=3)
        assert quiet.pending == 2


async def test_the_buffer_flushes_every_interval_and_when_a_batch_is_full(
        own_buffer, buffer, session):
    async def flushed(buffer: EventBuffer, count: int) -> None:
        async with asyncio.timeout(5):
            while buffer.pending or await session.scalar(
                    select(func.count()).select_from(AnalyticsEvent)) < count:
                await session.commit()
                await asyncio.sleep(0.02)

    _, ticking = await own_buffer(analytics_flush_interval_seconds=0.05)
    ticking.add([event("search", HOUR)])
    await flushed(ticking, 1)

    _, batching = await own_buffer(analytics_flush_interval_seconds=3600,
                                   analytics_flush_events=3)
    batching.add([event("search", HOUR), event("search", HOUR)])
    await asyncio.sleep(0.1)
    assert batching.pending == 2  # neither due nor full
    batching.add([event("search", HOUR)])
    await flushed(batching, 4)


async def test_sessions_of_an_engine_without_a_buffer_track_nothing(app, database_url):
    engine = create_async_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        async with async_sessionmaker(engine)() as db:
            assert buffer_for(db) is None
            analytics_service.track(session=db, kind="search")  # and nothing fails
    finally:
        await engine.dispose()
    async with app.state.sessionmaker() as db:
        assert buffer_for(db) is app.state.event_buffer


async def test_a_full_buffer_drops_new_events_and_counts_them(app):
    settings = app.state.settings.model_copy(update={"analytics_buffer_max_events": 3})
    buffer = EventBuffer(settings, app.state.engine, app.state.sessionmaker)
    buffer.add([event("search", HOUR, user_id=i) for i in range(5)])
    assert (buffer.pending, buffer.dropped) == (3, 2)


async def test_a_failed_flush_keeps_its_batch_and_retries_it_under_the_same_id(
        app, session, buffer, database_url):
    unreachable = create_async_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
    settings = app.state.settings.model_copy(update={"analytics_flush_events": 2})
    failing = EventBuffer(settings, app.state.engine, async_sessionmaker(unreachable))
    failing.add([event("search", HOUR, user_id=i) for i in range(3)])
    try:
        assert await failing.flush() == 0
    finally:
        await unreachable.dispose()
    assert failing.pending == 3
    batch_id = failing._unsent[0]

    failing._sessionmaker = app.state.sessionmaker  # the database is back
    assert await failing.flush() == 3
    assert failing.pending == 0
    batches = list(await session.scalars(
        select(AnalyticsEvent.batch_id).distinct().order_by(AnalyticsEvent.batch_id)))
    assert batch_id in batches and len(batches) == 2


async def test_hourly_counts_are_recounted_idempotently(ctx, session, buffer):
    await track_events(ctx, batch_id=str(uuid.uuid4()), events=[
        event("signup", HOUR), event("signup", HOUR + timedelta(minutes=59)),
        event("like", HOUR + timedelta(minutes=30)),
        event("like", HOUR + timedelta(hours=1, minutes=5)),
        # Before the hours a run recounts: left alone.
        event("search", HOUR - timedelta(hours=5))])
    run_at = int((HOUR + timedelta(hours=1, minutes=10)).timestamp())

    async def counts():
        rows = await session.execute(select(AnalyticsHourly.hour, AnalyticsHourly.kind,
                                            AnalyticsHourly.count)
                                     .order_by(AnalyticsHourly.hour, AnalyticsHourly.kind))
        await session.commit()
        return [tuple(row) for row in rows]

    expected = [(HOUR, "like", 1), (HOUR, "signup", 2), (HOUR + timedelta(hours=1), "like", 1)]
    await aggregate_analytics(ctx, timestamp=run_at)
    assert await counts() == expected
    await aggregate_analytics(ctx, timestamp=run_at)
    assert await counts() == expected

    # An event flushed late into an hour already counted is counted by the next run.
    await track_events(ctx, batch_id=str(uuid.uuid4()),
                       events=[event("signup", HOUR + timedelta(minutes=1))])
    await aggregate_analytics(ctx, timestamp=run_at + 3600)
    assert await counts() == [(HOUR, "like", 1), (HOUR, "signup", 3),
                              (HOUR + timedelta(hours=1), "like", 1)]


async def test_hourly_counts_are_for_administrators(client, session, ctx, buffer):
    await track_events(ctx, batch_id=str(uuid.uuid4()),
                       events=[event("like", HOUR), event("signup", HOUR)])
    await aggregate_analytics(ctx, timestamp=int(HOUR.timestamp()))
    assert (await client.get(HOURLY)).status_code == 401
    member = await factories.user(client, "member")
    refused = await client.get(HOURLY, headers=member)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"

    boss = await admin(client, session)
    window = {"since": HOUR.isoformat(), "until": (HOUR + timedelta(hours=2)).isoformat()}
    response = await client.get(HOURLY, headers=boss, params=window)
    assert response.status_code == 200, response.text
    assert [(item["kind"], item["count"]) for item in response.json()["items"]] == [
        ("like", 1), ("signup", 1)]
    only_likes = await client.get(HOURLY, headers=boss, params={**window, "kind": "like"})
    assert [item["kind"] for item in only_likes.json()["items"]] == ["like"]
    # The default window is the last day: nothing of 2025 is in it.
    assert (await client.get(HOURLY, headers=boss)).json()["items"] == []


@pytest.mark.parametrize("params", [
    {"since": "2025-03-01T00:00:00Z", "until": "2025-05-01T00:00:00Z"},  # over 31 days
    {"since": "2025-03-02T00:00:00Z", "until": "2025-03-01T00:00:00Z"},  # backwards
    {"since": "2025-03-01T00:00:00", "until": "2025-03-02T00:00:00"},  # no time zone
])
async def test_a_bad_window_is_a_400(client, session, params):
    boss = await admin(client, session)
    response = await client.get(HOURLY, headers=boss, params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get(HOURLY, headers=boss, params={"kind": "other"})).status_code == 422


async def test_searches_are_tracked_with_their_query_and_trend_by_distinct_people(
        client, session, buffer, app):
    people = [await factories.user(client, f"searcher{n}") for n in range(4)]
    for headers in people:
        assert (await client.get("/api/v1/search", params={"q": "  Vals  Cruzado "},
                                 headers=headers)).status_code == 200
    for headers in people[:2]:
        await client.get("/api/v1/search", params={"q": "Milonga"}, headers=headers)
    # One person repeating a query, and anonymous visitors, do not make it trend.
    for _ in range(5):
        await client.get("/api/v1/search", params={"q": "my ex's address"}, headers=people[0])
        await client.get("/api/v1/search", params={"q": "my ex's address"})
    await buffer.flush()
    queries = await session.scalars(select(AnalyticsEvent.query).where(
        AnalyticsEvent.kind == "search").distinct())
    assert sorted(queries) == ["milonga", "my ex's address", "vals cruzado"]

    trending = await client.get("/api/v1/search/trending", params={"hours": 1})
    assert trending.status_code == 200
    assert trending.json() == {"hours": 1, "items": [{"query": "vals cruzado", "searchers": 4}]}
    await client.get("/api/v1/search", params={"q": "milonga"}, headers=people[2])
    await buffer.flush()
    # Shared for a few minutes: the window moves over hours.
    assert (await client.get("/api/v1/search/trending",
                             params={"hours": 1})).json()["items"] == [
        {"query": "vals cruzado", "searchers": 4}]
    await app.state.cache.delete("search:trending:1:10")
    assert (await client.get("/api/v1/search/trending", params={"hours": 1})).json()["items"] == [
        {"query": "vals cruzado", "searchers": 4}, {"query": "milonga", "searchers": 3}]


@pytest.mark.parametrize("params", [{"hours": 0}, {"hours": 169}, {"limit": 0}, {"limit": 51},
                                    {"hours": "soon"}])
async def test_a_bad_trending_window_is_a_problem(client, params):
    response = await client.get("/api/v1/search/trending", params=params)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
