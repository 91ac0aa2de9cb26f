"""Notifications of follows, likes, comments, RSVPs and @mentions, written by the notify job
(inline in tests: it runs once the action's transaction commits). Likes and RSVPs coalesce into
one unread row per subject; every action counts once however often its job runs."""

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text
from tests import factories

from lifeceo.community.notifications.models import Notification, NotificationAction
from lifeceo.community.notifications.tasks import notify
from lifeceo.community.users.models import User
from lifeceo.platform.queue import JobContext

NOTES = "/api/v1/notifications"
POSTS = "/api/v1/posts"
STARTS = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)


async def notes(client, headers, **params) -> list[dict]:
    response = await client.get(NOTES, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def post(client, headers, body: str = "Cortina, then a vals tanda",
               visibility: str = "public") -> int:
    response = await client.post(POSTS, headers=headers,
                                 json={"body": body, "visibility": visibility})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def event(client, headers) -> int:
    response = await client.post("/api/v1/events", headers=headers, json={
        "title": "Milonga del Sur", "description": "Traditional tandas.", "city": "Rosario",
        "venue": "Club", "starts_at": STARTS.isoformat(),
        "ends_at": (STARTS + timedelta(hours=4)).isoformat(),
        "timezone": "America/Argentina/Buenos_Aires", "tags": [], "price": "0",
        "capacity": None})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def like(client, headers, post_id: int) -> None:
    assert (await client.post(f"{POSTS}/{post_id}/like", headers=headers)).status_code == 200


async def user_id(session, username: str) -> int:
    return await session.scalar(select(User.id).where(User.username == username))


async def count(session, model, *where) -> int:
    await session.rollback()
    return await session.scalar(select(func.count()).select_from(model).where(*where))


async def test_each_kind_of_action_notifies_its_recipient_once(client, session):
    ana = await factories.user(client, "ana")
    bob = await factories.user(client, "bob")
    post_id = await post(client, ana)
    event_id = await event(client, ana)

    assert (await client.post("/api/v1/users/ana/follow", headers=bob)).status_code == 200
    await like(client, bob, post_id)
    response = await client.post(f"{POSTS}/{post_id}/comments", headers=bob,
                                 json={"body": "Great tanda"})
    assert response.status_code == 201
    response = await client.post(f"/api/v1/events/{event_id}/rsvp", headers=bob,
                                 json={"status": "going"})
    assert response.status_code == 200
    mention_id = await post(client, bob, "Dancing with @ana tonight")
    # Her own actions tell her nothing.
    await like(client, ana, post_id)
    await client.post(f"{POSTS}/{post_id}/comments", headers=ana, json={"body": "Thanks @ana"})

    bob_id = await user_id(session, "bob")
    items = await notes(client, ana)
    assert [(n["kind"], n["subject_id"], n["summary"]) for n in items] == [
        ("mention", mention_id, "@bob mentioned you"),
        ("rsvp", event_id, "@bob RSVPed to your event"),
        ("comment", post_id, "@bob commented on your post"),
        ("like", post_id, "@bob liked your post"),
        ("follow", bob_id, "@bob started following you"),
    ]  # latest first
    assert all(n["actor"] == "bob" and n["actors"] == ["bob"] and n["actor_count"] == 1
               and n["read_at"] is None for n in items)
    assert await notes(client, bob) == []


async def test_a_mention_reaches_only_existing_users_who_may_see_the_post(client):
    ana = await factories.user(client, "ana")
    bob = await factories.user(client, "bob")  # follows nobody
    cyd = await factories.user(client, "cyd")
    dan = await factories.user(client, "dan")
    assert (await client.post("/api/v1/users/ana/follow", headers=cyd)).status_code == 200

    await post(client, ana, "Private note to @bob and @cyd", visibility="private")
    followers_only = await post(client, ana, "Practica for @bob and @CYD", visibility="followers")
    public = await post(client, ana,
                        "@bob @bob @ana @nobody @dan! write to ana@example.org or mail@cyd")

    assert [(n["kind"], n["subject_id"]) for n in await notes(client, bob)] == [
        ("mention", public)]
    assert [(n["kind"], n["subject_id"]) for n in await notes(client, cyd)] == [
        ("mention", followers_only)]
    assert [(n["kind"], n["subject_id"]) for n in await notes(client, dan)] == [
        ("mention", public)]
    # ana mentioned herself and got her follower's follow only.
    assert [n["kind"] for n in await notes(client, ana)] == ["follow"]

    # In a comment: the post's visibility decides, and its author hears of the comment once.
    response = await client.post(f"{POSTS}/{followers_only}/comments", headers=cyd,
                                 json={"body": "@bob @dan @ana see you there"})
    assert response.status_code == 201
    assert len(await notes(client, bob)) == len(await notes(client, dan)) == 1
    assert [n["kind"] for n in await notes(client, ana)] == ["comment", "follow"]
    response = await client.post(f"{POSTS}/{public}/comments", headers=cyd,
                                 json={"body": "@bob agreed"})
    assert response.status_code == 201
    assert [n["summary"] for n in await notes(client, bob)] == [
        "@cyd mentioned you", "@ana mentioned you"]


async def test_editing_a_post_tells_the_newly_mentioned_and_nobody_twice(client):
    ana = await factories.user(client, "ana")
    bob = await factories.user(client, "bob")
    await factories.user(client, "cyd")
    post_id = await post(client, ana, "Hello @bob", visibility="private")
    assert await notes(client, bob) == []
    for body in ("Hello @bob and @cyd", "Hello again @bob and @cyd"):
        response = await client.patch(f"{POSTS}/{post_id}", headers=ana,
                                      json={"body": body, "visibility": "public"})
        assert response.status_code == 200, response.text
    assert [n["kind"] for n in await notes(client, bob)] == ["mention"]


async def test_ten_likes_become_one_notification_with_a_count(client, session):
    ana = await factories.user(client, "ana")
    fans = [await factories.user(client, f"fan{i}") for i in range(10)]
    post_id = await post(client, ana)
    for fan in fans:
        await like(client, fan, post_id)

    [item] = await notes(client, ana)
    assert item["kind"] == "like" and item["subject_id"] == post_id
    assert item["actor_count"] == 10
    assert item["actor"] == "fan9" and item["actors"] == ["fan9", "fan8", "fan7"]
    assert item["summary"] == "@fan9 and 9 others liked your post"
    assert item["updated_at"] > item["created_at"]
    assert await count(session, Notification) == 1
    assert await count(session, NotificationAction) == 10

    # Taking a like back and giving it again counts nobody twice.
    assert (await client.delete(f"{POSTS}/{post_id}/like", headers=fans[3])).status_code == 200
    await like(client, fans[3], post_id)
    [again] = await notes(client, ana)
    assert again["actor_count"] == 10 and again["id"] == item["id"]


async def test_concurrent_likes_join_one_row(client, session):
    ana = await factories.user(client, "ana")
    fans = [await factories.user(client, f"fan{i}") for i in range(10)]
    post_id = await post(client, ana)
    await asyncio.gather(*(like(client, fan, post_id) for fan in fans))
    [item] = await notes(client, ana)
    assert item["actor_count"] == 10 and len(item["actors"]) == 3
    assert await count(session, Notification, Notification.kind == "like") == 1


async def test_two_likes_name_both_and_rsvps_coalesce_too(client):
    ana = await factories.user(client, "ana")
    bob = await factories.user(client, "bob")
    cyd = await factories.user(client, "cyd")
    post_id = await post(client, ana)
    event_id = await event(client, ana)
    for headers in (bob, cyd):
        await like(client, headers, post_id)
        response = await client.post(f"/api/v1/events/{event_id}/rsvp", headers=headers,
                                     json={"status": "interested"})
        assert response.status_code == 200
    assert [n["summary"] for n in await notes(client, ana)] == [
        "@cyd and @bob RSVPed to your event", "@cyd and @bob liked your post"]


async def test_read_or_quiet_notifications_are_not_joined(client, session):
    ana = await factories.user(client, "ana")
    fans = [await factories.user(client, f"fan{i}") for i in range(3)]
    post_id = await post(client, ana)
    await like(client, fans[0], post_id)
    response = await client.post(f"{NOTES}/read", headers=ana, json={})
    assert response.json() == {"marked": 1, "unread": 0}
    await like(client, fans[1], post_id)
    # An unread row quiet for longer than the window is news of its own.
    async with session.begin():
        await session.execute(text("UPDATE notifications SET updated_at = now() - interval "
                                   "'2 hours' WHERE read_at IS NULL"))
    await like(client, fans[2], post_id)
    items = await notes(client, ana)
    assert [(n["actor"], n["actor_count"], n["read_at"] is None) for n in items] == [
        ("fan2", 1, True), ("fan1", 1, True), ("fan0", 1, False)]
    assert [n["actor"] for n in await notes(client, ana, unread="true")] == ["fan2", "fan1"]


async def test_the_job_run_twice_counts_its_action_once(app, client, session):
    ana = await factories.user(client, "ana")
    await factories.user(client, "bob")
    post_id = await post(client, ana)
    ana_id, bob_id = await user_id(session, "ana"), await user_id(session, "bob")
    context = JobContext(settings=app.state.settings, sessionmaker=app.state.sessionmaker,
                         cache=app.state.cache, engine=app.state.engine)
    for _ in range(2):
        await notify(context, recipient_id=ana_id, actor_id=bob_id, kind="like",
                     subject_id=post_id, source=f"like:{post_id}:{bob_id}")
    [item] = await notes(client, ana)
    assert item["actor_count"] == 1
    assert await count(session, NotificationAction) == 1


async def test_notify_jobs_are_queued_with_the_action_urgent_ones_first(app, client, session,
                                                                       monkeypatch):
    ana = await factories.user(client, "ana")
    bob = await factories.user(client, "bob")
    post_id = await post(client, ana)
    await session.rollback()
    after = await session.scalar(text("SELECT coalesce(max(id), 0) FROM procrastinate_jobs"))
    # As a worker would find them: written, not run inline.
    monkeypatch.setattr(app.state.settings, "jobs_inline", False)
    await like(client, bob, post_id)
    assert (await client.post(f"{POSTS}/{post_id}/comments", headers=bob,
                              json={"body": "Lovely"})).status_code == 201
    await session.rollback()
    jobs = (await session.execute(text(
        "SELECT queue_name, priority, args->>'kind' FROM procrastinate_jobs "
        "WHERE task_name = 'notify' AND id > :after ORDER BY id"), {"after": after})).all()
    assert [tuple(job) for job in jobs] == [("notifications", 0, "like"),
                                            ("notifications", 10, "comment")]
    assert await notes(client, ana) == []


async def test_pages_follow_the_latest_activity(client):
    ana = await factories.user(client, "ana")
    bob = await factories.user(client, "bob")
    first, second = await post(client, ana), await post(client, ana)
    await like(client, bob, first)
    await like(client, bob, second)
    assert (await client.post("/api/v1/users/ana/follow", headers=bob)).status_code == 200
    response = await client.get(NOTES, headers=ana, params={"limit": 2})
    page = response.json()
    assert [n["kind"] for n in page["items"]] == ["follow", "like"]
    assert page["items"][1]["subject_id"] == second
    rest = (await client.get(NOTES, headers=ana,
                             params={"limit": 2, "cursor": page["next_cursor"]})).json()
    assert [(n["kind"], n["subject_id"]) for n in rest["items"]] == [("like", first)]
    assert rest["next_cursor"] is None
