import asyncio

from tests import factories

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"


async def test_register_login_me_logout(client):
    response = await client.post(REGISTER, json={
        "username": "Ana_Tango", "email": "ana@example.org", "password": "milonga-1234"})
    assert response.status_code == 201
    assert response.json()["username"] == "ana_tango"
    assert "password_hash" not in response.json()

    login = await client.post(LOGIN, json={"username": "ANA_TANGO", "password": "milonga-1234"})
    assert login.status_code == 200
    token = login.json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    me = await client.get("/api/v1/me", headers=headers)
    assert me.json()["email"] == "ana@example.org"

    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    revoked = await client.get("/api/v1/me", headers=headers)
    assert revoked.status_code == 401
    assert revoked.headers["content-type"] == "application/problem+json"


async def test_username_and_email_are_unique_case_insensitively(client):
    await factories.user(client, "milonguero")
    again = await client.post(REGISTER, json={
        "username": "MILONGUERO", "email": "other@example.org", "password": "long enough pw"})
    assert again.status_code == 409
    same_email = await client.post(REGISTER, json={
        "username": "someone", "email": "Milonguero@Example.org", "password": "long enough pw"})
    assert same_email.status_code == 409


async def test_concurrent_registrations_of_one_name_create_one_user(client):
    body = {"username": "racer", "email": "racer@example.org", "password": "long enough pw"}
    results = await asyncio.gather(*(client.post(REGISTER, json=body) for _ in range(5)))
    assert sorted(r.status_code for r in results) == [201, 409, 409, 409, 409]


async def test_bad_registrations_are_4xx_problems(client):
    for body in (
        {"username": "ab", "email": "a@example.org", "password": "long enough pw"},
        {"username": "has space", "email": "a@example.org", "password": "long enough pw"},
        {"username": "valid_name", "email": "not-an-email", "password": "long enough pw"},
        {"username": "valid_name", "email": "a@example.org", "password": "short"},
        {"username": 12345, "email": "a@example.org", "password": "long enough pw"},
        {"username": "valid_name", "email": "a@example.org", "password": "long enough pw", "x": 1},
    ):
        response = await client.post(REGISTER, json=body)
        assert response.status_code == 422, body
        assert response.json()["status"] == 422
    malformed = await client.post(REGISTER, content=b"{not json",
                                  headers={"content-type": "application/json"})
    assert malformed.status_code == 400
    assert (await client.get("/api/v1/users/valid_name")).status_code == 404


async def test_wrong_password_and_unknown_user_look_the_same(client):
    await factories.user(client, "lead")
    wrong = await client.post(LOGIN, json={"username": "lead", "password": "nope nope nope"})
    unknown = await client.post(LOGIN, json={"username": "ghost", "password": "nope nope nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]


async def test_cookie_sessions_need_the_csrf_token_for_unsafe_methods(client):
    await factories.user(client, "browser")
    login = await client.post(LOGIN, json={"username": "browser", "password": factories.PASSWORD})
    assert "httponly" in login.headers["set-cookie"].lower()
    assert (await client.get("/api/v1/me")).status_code == 200
    blocked = await client.patch("/api/v1/me", json={"city": "Rosario"})
    assert blocked.status_code == 403
    allowed = await client.patch("/api/v1/me", json={"city": "Rosario"},
                                 headers={"X-CSRF-Token": login.json()["csrf_token"]})
    assert allowed.status_code == 200 and allowed.json()["city"] == "Rosario"
    client.cookies.clear()


async def test_profile_and_roles(client):
    headers = await factories.user(client, "teacher1")
    response = await client.patch("/api/v1/me", headers=headers, json={
        "display_name": "Carla", "bio": "Tango since 2004", "roles": ["teacher", "leader", "teacher"]})
    assert response.status_code == 200
    assert response.json()["roles"] == ["leader", "teacher"]
    bad = await client.patch("/api/v1/me", headers=headers, json={"roles": ["astronaut"]})
    assert bad.status_code == 422


async def test_follow_unfollow_lists_and_counters(client):
    alice = await factories.user(client, "alice")
    bob = await factories.user(client, "bob")
    carol = await factories.user(client, "carol")
    for headers in (alice, carol, alice):  # following twice is idempotent
        response = await client.post("/api/v1/users/bob/follow", headers=headers)
        assert response.status_code == 200
    assert response.json() == {"following": True, "followers_count": 2}
    followers = (await client.get("/api/v1/users/bob/followers?limit=1")).json()
    assert [u["username"] for u in followers["items"]] == ["carol"]  # newest first
    rest = (await client.get(f"/api/v1/users/bob/followers?limit=1&cursor={followers['next_cursor']}")).json()
    assert [u["username"] for u in rest["items"]] == ["alice"]
    assert rest["next_cursor"] is None
    following = (await client.get("/api/v1/users/alice/following")).json()
    assert [u["username"] for u in following["items"]] == ["bob"]

    assert (await client.post("/api/v1/users/bob/follow", headers=bob)).status_code == 403
    assert (await client.post("/api/v1/users/nobody/follow", headers=bob)).status_code == 404
    response = await client.delete("/api/v1/users/bob/follow", headers=alice)
    assert response.json() == {"following": False, "followers_count": 1}
    notes = (await client.get("/api/v1/notifications", headers=bob)).json()["items"]
    assert {(n["kind"], n["actor"]) for n in notes} == {("follow", "alice"), ("follow", "carol")}


async def test_concurrent_follows_keep_counters_exact(client):
    star = await factories.user(client, "star")
    fans = [await factories.user(client, f"fan{i}") for i in range(8)]
    await asyncio.gather(*(client.post("/api/v1/users/star/follow", headers=f) for f in fans * 2))
    profile = (await client.get("/api/v1/users/star")).json()
    assert profile["followers_count"] == 8
    await asyncio.gather(*(client.delete("/api/v1/users/star/follow", headers=f) for f in fans[:5] * 2))
    assert (await client.get("/api/v1/users/star")).json()["followers_count"] == 3
    assert star


async def test_admin_sets_groups(client, session):
    from sqlalchemy import update

    from lifeceo.community.users.models import User

    admin = await factories.user(client, "root_admin")
    member = await factories.user(client, "member")
    refused = await client.patch("/api/v1/users/member/admin", headers=member, json={"groups": ["beta"]})
    assert refused.status_code == 403
    await session.execute(update(User).where(User.username == "root_admin").values(is_admin=True))
    await session.commit()
    response = await client.patch("/api/v1/users/member/admin", headers=admin,
                                  json={"groups": ["beta", "beta"]})
    assert response.status_code == 200 and response.json()["groups"] == ["beta"]


async def test_bad_cursor_and_limit_are_400(client):
    await factories.user(client, "paged")
    for query in ("cursor=garbage", "cursor=WyJ4IiwxXQ", "limit=101", "limit=0"):
        response = await client.get(f"/api/v1/users/paged/followers?{query}")
        assert response.status_code in (400, 422), query
        assert response.headers["content-type"] == "application/problem+json"


async def test_cursor_with_an_id_beyond_bigint_is_400(client):
    import base64

    await factories.user(client, "bigint")
    raw = base64.urlsafe_b64encode(b'["2026-01-01T00:00:00+00:00", 99999999999999999999]').decode()
    response = await client.get(f"/api/v1/users/bigint/followers?cursor={raw}")
    assert response.status_code == 400


async def test_nul_characters_are_422_not_500(client):
    headers = await factories.user(client, "nul_user")
    assert (await client.patch("/api/v1/me", headers=headers, json={"bio": "a\x00b"})).status_code == 422
    login = await client.post(LOGIN, json={"username": "nul\x00user", "password": "whatever pw"})
    assert login.status_code == 422
    assert (await client.get("/api/v1/users/nul%00user")).status_code == 422
