"""GET /api/v1/flags: client-visible flags for the caller, sticky for anonymous visitors, private
and revalidated with an ETag."""

from sqlalchemy import update
from tests.factories import user

from lifeceo.community.users.models import User
from lifeceo.platform.flags import bucket

FLAGS = "/api/v1/flags"


async def test_only_client_visible_flags_evaluated_for_an_anonymous_visitor(client, flags):
    response = await client.get(FLAGS)
    assert response.status_code == 200
    body = response.json()["flags"]
    # Internal flags are hidden.
    assert set(body) == {"virtual-scrolling", "a-b-testing"}
    assert body["virtual-scrolling"] == {"enabled": True, "variant": "on", "reason": "static"}
    # The experiment is for the beta group only.
    assert body["a-b-testing"] == {"enabled": False, "variant": "off", "reason": "group"}
    assert response.headers["cache-control"].startswith("private")
    cookie = response.headers["set-cookie"]
    assert "lifeceo_visitor=" in cookie and "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower() and "Max-Age=31536000" in cookie


async def test_an_anonymous_visitor_keeps_their_bucket(client, admin, flags):
    response = await client.patch("/api/v1/admin/flags/virtual-scrolling", headers=admin,
                                  json={"version": 1, "rollout_percentage": 50})
    assert response.status_code == 200
    client.cookies.clear()
    outcomes = set()
    for _ in range(12):
        visitor = await client.get(FLAGS)
        key = visitor.cookies["lifeceo_visitor"]
        expected = bucket("virtual-scrolling", f"visitor:{key}") < 5_000
        # The same visitor, twenty times: the same answer, and the cookie renewed as it was.
        for _ in range(20):
            again = await client.get(FLAGS)
            assert again.json()["flags"]["virtual-scrolling"]["enabled"] is expected
            assert again.cookies.get("lifeceo_visitor", key) == key
        outcomes.add(expected)
        client.cookies.clear()
    # Twelve visitors at 50 %: both outcomes occur (1 in 2,048 that they would not).
    assert outcomes == {True, False}


async def test_a_forged_visitor_cookie_is_replaced(client, flags):
    client.cookies.set("lifeceo_visitor", "short")
    response = await client.get(FLAGS)
    assert response.status_code == 200
    assert len(response.cookies["lifeceo_visitor"]) >= 22
    client.cookies.clear()


async def test_a_beta_user_gets_a_sticky_variant(client, session, flags):
    headers = await user(client, "beta_tester")
    await session.execute(update(User).where(User.username == "beta_tester")
                          .values(groups=["beta"]))
    await session.commit()
    first = (await client.get(FLAGS, headers=headers)).json()["flags"]["a-b-testing"]
    assert first["enabled"] is True and first["variant"] in {"control", "treatment"}
    assert first["reason"] == "targeting_match"
    for _ in range(5):
        assert (await client.get(FLAGS, headers=headers)).json()["flags"]["a-b-testing"] == first
    # Logged-in callers get no visitor cookie.
    assert "lifeceo_visitor" not in (await client.get(FLAGS, headers=headers)).cookies


async def test_etag_and_304_until_a_flag_changes(client, admin, flags):
    headers = {"authorization": admin["Authorization"]}
    first = await client.get(FLAGS, headers=headers)
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, no-cache"
    unchanged = await client.get(FLAGS, headers={**headers, "If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.headers["cache-control"] == "private, no-cache"
    await client.patch("/api/v1/admin/flags/virtual-scrolling", headers=admin,
                       json={"version": 1, "enabled": False})
    changed = await client.get(FLAGS, headers={**headers, "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.json()["flags"]["virtual-scrolling"]["enabled"] is False


async def test_evaluations_are_counted_in_api_metrics(client, flags):
    for _ in range(3):
        await client.get(FLAGS)
    flags.publish_counts()
    metrics = await client.get("/api/metrics")
    assert metrics.status_code == 200, metrics.text
    lines = [line for line in metrics.text.splitlines()
             if line.startswith("lifeceo_flag_evaluations_total{")
             and 'flag="virtual-scrolling"' in line and 'reason="static"' in line]
    assert len(lines) == 1 and 'variant="on"' in lines[0]
    assert float(lines[0].rsplit(" ", 1)[1]) >= 3
