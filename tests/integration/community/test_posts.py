import asyncio
import base64
import json

from sqlalchemy import func, select
from tests import factories

from lifeceo.community.media.models import Media
from lifeceo.community.notifications.models import Notification
from lifeceo.community.posts.models import Comment, Like, Post
from lifeceo.community.users.models import User

POSTS = "/api/v1/posts"


async def _post(client, headers, **fields) -> dict:
    response = await client.post(POSTS, headers=headers, json={"body": "Cabeceo at nine", **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def _count(session, model, *where) -> int:
    return await session.scalar(select(func.count()).select_from(model).where(*where))


def out_of_range_cursor() -> str:
    """Well-formed, but its id (2**64 - 1) is one no bigint column can hold."""
    raw = json.dumps(["2100-01-01T00:00:00+00:00", 2**64 - 1]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def _notes(client, headers) -> set[tuple[str, str, int]]:
    items = (await client.get("/api/v1/notifications", headers=headers)).json()["items"]
    return {(n["kind"], n["actor"], n["subject_id"]) for n in items}


async def _media(session, owner: str) -> int:
    owner_id = await session.scalar(select(User.id).where(User.username == owner))
    media = Media(owner_id=owner_id, content_type="image/png", byte_size=10, width=1, height=1,
                  storage_key=f"{owner}/{owner_id}.png", sha256="0" * 64)
    session.add(media)
    await session.commit()
    return media.id


async def test_create_read_edit_delete(client):
    ana = await factories.user(client, "ana", display_name="Ana")
    bob = await factories.user(client, "bob")
    created = await _post(client, ana, body="Milonga tonight", tags=[" Tango ", "tango", "Vals_2"])
    assert created["author"] == {"username": "ana", "display_name": "Ana"}
    assert created["tags"] == ["tango", "vals_2"]
    assert created["visibility"] == "public"
    assert (created["like_count"], created["comment_count"]) == (0, 0)
    assert created["liked_by_me"] is False
    assert created["media_id"] is None and created["updated_at"] is None

    url = f"{POSTS}/{created['id']}"
    assert (await client.get(url)).json() == created
    edited = await client.patch(url, headers=ana, json={"body": "Milonga at ten", "tags": []})
    assert edited.status_code == 200
    assert edited.json()["body"] == "Milonga at ten" and edited.json()["tags"] == []
    assert edited.json()["updated_at"] is not None
    assert edited.json()["visibility"] == "public"  # untouched fields stay

    assert (await client.patch(url, headers=bob, json={"body": "mine now"})).status_code == 403
    assert (await client.delete(url, headers=bob)).status_code == 403
    assert (await client.get(url)).json()["body"] == "Milonga at ten"
    assert (await client.post(POSTS, json={"body": "anonymous"})).status_code == 401
    assert (await client.delete(url, headers=ana)).status_code == 204
    assert (await client.get(url)).status_code == 404
    assert (await client.delete(url, headers=ana)).status_code == 404


async def test_hidden_posts_are_404_for_every_action_and_visible_ones_403(client):
    ana = await factories.user(client, "ana")
    fan = await factories.user(client, "fan")
    stranger = await factories.user(client, "stranger")
    assert (await client.post("/api/v1/users/ana/follow", headers=fan)).status_code == 200
    private = await _post(client, ana, visibility="private")
    followers = await _post(client, ana, visibility="followers")
    comment = (await client.post(f"{POSTS}/{followers['id']}/comments", headers=ana,
                                 json={"body": "hi"})).json()

    for viewer in (stranger, fan, {}):
        url = f"{POSTS}/{private['id']}"
        assert (await client.get(url, headers=viewer)).status_code == 404
        assert (await client.get(f"{url}/comments", headers=viewer)).status_code == 404
    for viewer in (stranger, fan):
        url = f"{POSTS}/{private['id']}"
        for method, path, body in (("PATCH", "", {"body": "x"}), ("DELETE", "", None),
                                   ("POST", "/like", None), ("DELETE", "/like", None),
                                   ("POST", "/comments", {"body": "x"})):
            response = await client.request(method, url + path, headers=viewer, json=body)
            assert response.status_code == 404, (method, path)
            assert response.headers["content-type"] == "application/problem+json"

    url = f"{POSTS}/{followers['id']}"
    assert (await client.get(url, headers=stranger)).status_code == 404
    comment_url = f"{url}/comments/{comment['id']}"
    assert (await client.delete(comment_url, headers=stranger)).status_code == 404
    assert (await client.get(url, headers=fan)).status_code == 200
    assert (await client.patch(url, headers=fan, json={"body": "x"})).status_code == 403
    assert (await client.delete(url, headers=fan)).status_code == 403
    assert (await client.delete(comment_url, headers=fan)).status_code == 403
    assert (await client.get(url, headers=ana)).json()["body"] == "Cabeceo at nine"


async def test_likes_are_idempotent_and_notify_once(client):
    ana = await factories.user(client, "ana")
    bob = await factories.user(client, "bob")
    post = await _post(client, ana)
    like = f"{POSTS}/{post['id']}/like"
    for _ in range(2):
        response = await client.post(like, headers=bob)
        assert response.status_code == 200
        assert response.json() == {"liked": True, "like_count": 1}
    assert (await client.post(like, headers=ana)).json() == {"liked": True, "like_count": 2}
    seen_by_bob = (await client.get(f"{POSTS}/{post['id']}", headers=bob)).json()
    assert seen_by_bob["liked_by_me"] is True and seen_by_bob["like_count"] == 2
    assert (await client.get(f"{POSTS}/{post['id']}")).json()["liked_by_me"] is False
    for _ in range(2):
        assert (await client.delete(like, headers=bob)).json() == {"liked": False, "like_count": 1}
    # One like notification from bob; none for ana's own like, none for unliking.
    assert await _notes(client, ana) == {("like", "bob", post["id"])}


async def test_comments_list_notify_and_delete_rules(client):
    ana = await factories.user(client, "ana")
    bob = await factories.user(client, "bob")
    cyd = await factories.user(client, "cyd")
    post = await _post(client, ana)
    other = await _post(client, ana)
    comments = f"{POSTS}/{post['id']}/comments"
    made = []
    for headers, body in ((bob, "first"), (cyd, "second"), (ana, "third")):
        response = await client.post(comments, headers=headers, json={"body": body})
        assert response.status_code == 201
        made.append(response.json())
    assert made[0]["author"] == {"username": "bob", "display_name": ""}
    assert made[0]["post_id"] == post["id"]

    first = (await client.get(f"{comments}?limit=2")).json()
    assert [c["body"] for c in first["items"]] == ["first", "second"]  # oldest first
    rest = (await client.get(f"{comments}?limit=2&cursor={first['next_cursor']}")).json()
    assert [c["body"] for c in rest["items"]] == ["third"] and rest["next_cursor"] is None
    assert (await client.get(f"{POSTS}/{post['id']}")).json()["comment_count"] == 3
    assert await _notes(client, ana) == {("comment", "bob", post["id"]),
                                         ("comment", "cyd", post["id"])}

    bob_comment, cyd_comment, ana_comment = (f"{comments}/{c['id']}" for c in made)
    assert (await client.delete(bob_comment, headers=cyd)).status_code == 403
    assert (await client.delete(ana_comment, headers=bob)).status_code == 403
    assert (await client.delete(f"{POSTS}/{other['id']}/comments/{made[0]['id']}",
                                headers=bob)).status_code == 404
    assert (await client.delete(bob_comment, headers=bob)).status_code == 204  # its author
    assert (await client.delete(cyd_comment, headers=ana)).status_code == 204  # the post's owner
    assert (await client.delete(cyd_comment, headers=ana)).status_code == 404
    remaining = (await client.get(comments)).json()["items"]
    assert [c["body"] for c in remaining] == ["third"]
    assert (await client.get(f"{POSTS}/{post['id']}")).json()["comment_count"] == 1


async def test_concurrent_likes_keep_the_counter_exact(client, session):
    ana = await factories.user(client, "ana")
    fans = [await factories.user(client, f"fan{i}") for i in range(20)]
    post = await _post(client, ana)
    like = f"{POSTS}/{post['id']}/like"
    results = await asyncio.gather(*(client.post(like, headers=fan) for fan in fans * 2))
    assert {r.status_code for r in results} == {200}
    assert await _count(session, Like, Like.post_id == post["id"]) == 20
    assert (await client.get(f"{POSTS}/{post['id']}")).json()["like_count"] == 20
    # Coalesced: one notification counting the 20 likers.
    assert (await session.scalars(select(Notification.actor_count)
                                  .where(Notification.kind == "like"))).all() == [20]

    results = await asyncio.gather(*(client.delete(like, headers=fan) for fan in fans[:12] * 2),
                                   *(client.post(like, headers=fan) for fan in fans[12:]))
    assert {r.status_code for r in results} == {200}
    assert await _count(session, Like, Like.post_id == post["id"]) == 8
    assert (await client.get(f"{POSTS}/{post['id']}")).json()["like_count"] == 8


async def test_concurrent_comments_keep_the_counter_exact(client, session):
    ana = await factories.user(client, "ana")
    fans = [await factories.user(client, f"fan{i}") for i in range(10)]
    post = await _post(client, ana)
    comments = f"{POSTS}/{post['id']}/comments"
    created = await asyncio.gather(*(client.post(comments, headers=fan, json={"body": "que lindo"})
                                     for fan in fans * 2))
    assert {r.status_code for r in created} == {201}
    # Each of the first ten comments deleted twice at once, while ten more are written.
    doomed = [(fans[i % 10], r.json()["id"]) for i, r in enumerate(created[:10])]
    results = await asyncio.gather(
        *(client.delete(f"{comments}/{cid}", headers=fan) for fan, cid in doomed * 2),
        *(client.post(comments, headers=fan, json={"body": "otra"}) for fan in fans),
    )
    assert sorted(r.status_code for r in results[:20]) == [204] * 10 + [404] * 10
    rows = await _count(session, Comment, Comment.post_id == post["id"])
    assert rows == 20
    assert (await client.get(f"{POSTS}/{post['id']}")).json()["comment_count"] == rows


async def test_media_must_exist_and_belong_to_the_author(client, session):
    ana = await factories.user(client, "ana")
    await factories.user(client, "bob")
    own, foreign = await _media(session, "ana"), await _media(session, "bob")
    post = await _post(client, ana, media_id=own)
    assert post["media_id"] == own
    for media_id in (foreign, own + foreign + 1000):
        response = await client.post(POSTS, headers=ana, json={"body": "x", "media_id": media_id})
        assert response.status_code == 422, media_id
        response = await client.patch(f"{POSTS}/{post['id']}", headers=ana,
                                      json={"media_id": media_id})
        assert response.status_code == 422, media_id
    assert (await client.get(f"{POSTS}/{post['id']}")).json()["media_id"] == own
    detached = await client.patch(f"{POSTS}/{post['id']}", headers=ana, json={"media_id": None})
    assert detached.json()["media_id"] is None
    assert await _count(session, Post) == 1


async def test_bad_input_is_a_4xx_problem_and_changes_nothing(client, session):
    ana = await factories.user(client, "ana")
    post = await _post(client, ana, tags=["keep"])
    url = f"{POSTS}/{post['id']}"
    bad_fields = (
        {"body": ""},
        {"body": "x" * 5001},
        {"body": "nul \x00 inside"},
        {"body": 123},
        {"body": None},
        {"tags": [f"t{i}" for i in range(11)]},
        {"tags": ["has space"]},
        {"tags": ["-leading"]},
        {"tags": ["x" * 41]},
        {"tags": "tango"},
        {"tags": [1]},
        {"tags": None},
        {"visibility": "friends"},
        {"visibility": None},
        {"media_id": "1"},
        {"media_id": 2**63},
        {"author_id": 2},
    )
    for fields in bad_fields:
        for method, target, body in (("POST", POSTS, {"body": "x", **fields}),
                                     ("PATCH", url, fields)):
            response = await client.request(method, target, headers=ana, json=body)
            assert 400 <= response.status_code < 500, (method, body)
            assert response.headers["content-type"] == "application/problem+json", body
    assert (await client.post(POSTS, headers=ana, json=[])).status_code == 422
    huge = await client.post(POSTS, headers=ana, json={"body": "x" * 70_000})
    assert huge.status_code == 413
    comments = f"{url}/comments"
    for body in ({"body": "x" * 2001}, {"body": ""}, {"text": "x"}, {"body": ["x"]}):
        assert (await client.post(comments, headers=ana, json=body)).status_code == 422, body
    for path in (f"{POSTS}/999999", f"{POSTS}/999999/comments", f"{POSTS}/999999/like"):
        assert (await client.get(path)).status_code in (404, 405)
        assert (await client.post(path, headers=ana, json={"body": "x"})).status_code in (404, 405)
    for path in (f"{POSTS}/abc", f"{POSTS}/{2**70}", f"{POSTS}/0", f"{url}/comments/abc"):
        assert (await client.delete(path, headers=ana)).status_code == 422, path
    for cursor in ("garbage", out_of_range_cursor()):
        response = await client.get(f"{comments}?cursor={cursor}")
        assert response.status_code == 400, cursor
        assert response.headers["content-type"] == "application/problem+json"

    unchanged = (await client.get(url)).json()
    assert unchanged == post
    assert await _count(session, Post) == 1
    assert await _count(session, Comment) == 0
