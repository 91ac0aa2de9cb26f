"""The cache as the application wires it: readiness and the admin report."""

from sqlalchemy import update
from tests import factories

from lifeceo.community.users.models import User

ADMIN_CACHE = "/api/v1/admin/cache"


async def test_readiness_reports_the_cache_without_redis_as_passing(client):
    body = (await client.get("/api/health/ready")).json()
    l2 = body["checks"]["cache:l2"][0]
    assert l2["status"] == "pass" and l2["output"] == "not configured"
    assert body["checks"]["cache:invalidationBus"][0]["observedValue"] == ["postgres"]
    assert body["checks"]["cache:l1Bytes"][0]["observedUnit"] == "bytes"


async def test_cache_report_is_for_administrators_only(client, session, app):
    assert (await client.get(ADMIN_CACHE)).status_code == 401
    member = await factories.user(client, "member")
    forbidden = await client.get(ADMIN_CACHE, headers=member)
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"] == "application/problem+json"

    admin = await factories.user(client, "boss")
    await session.execute(update(User).where(User.username == "boss").values(is_admin=True))
    await session.commit()
    await app.state.cache.set("posts:report-test", 1, ttl=60)
    assert await app.state.cache.get("posts:report-test") == 1
    response = await client.get(ADMIN_CACHE, headers=admin)
    assert response.status_code == 200
    report = response.json()
    assert report["l2"]["state"] == "not_configured"
    assert report["l1"]["entries"] >= 1
    assert report["namespaces"]["posts"]["tiers"]["l1"]["hits"] >= 1
    assert report["windows"]["5m"]["hit_ratio"] is None  # below the minimum sample count
