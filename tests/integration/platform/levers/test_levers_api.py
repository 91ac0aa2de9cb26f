"""The runtime levers through the real application: each one's effect, its expiry and undo,
403 for members, and a lever pulled in one application reaching another over the live hub."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import httpx
import pytest
from sqlalchemy import update
from tests import factories
from tests.waiting import eventually

from lifeceo.app import create_app
from lifeceo.community.users.models import User
from lifeceo.settings import Settings

LEVERS = "/api/v1/admin/levers"
SLOW = "/api/v1/test/slow"
# The slow route's class as the monitor classifies paths; the suite's own application does not
# measure it, so it tells this test's applications apart.
SLOW_CLASS = "other"


def client_at(application, address: str = "203.0.113.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=application, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def started(app) -> AsyncIterator[Callable[..., Awaitable]]:
    """`await started(**settings)`: an application of its own, with a slow route in a route
    class only its applications measure (SLOW_CLASS), on the test database."""
    async with AsyncExitStack() as stack:

        async def start(**overrides):
            application = create_app(Settings(
                levers_concurrency_route_classes=[SLOW_CLASS],
                levers_concurrency_initial_limit=1, levers_concurrency_min_limit=1,
                levers_report_wait_ms=500, **overrides))
            application.state.release_slow = asyncio.Event()

            async def slow():
                await application.state.release_slow.wait()
                return {"slow": True}

            application.add_api_route(SLOW, slow, methods=["GET"])
            await stack.enter_async_context(application.router.lifespan_context(application))
            return application

        yield start


async def admin_headers(http: httpx.AsyncClient, session) -> dict[str, str]:
    headers = await factories.user(http, "boss")
    await session.execute(update(User).where(User.username == "boss").values(is_admin=True))
    await session.commit()
    return headers


async def test_members_may_not_see_or_pull_levers(client):
    member = await factories.user(client, "member")
    assert (await client.get(LEVERS)).status_code == 401
    assert (await client.get(LEVERS, headers=member)).status_code == 403
    pull = {"target": "search", "value": "on", "seconds": 10}
    assert (await client.post(f"{LEVERS}/concurrency", json=pull,
                              headers=member)).status_code == 403
    assert (await client.delete(f"{LEVERS}/concurrency", params={"target": "search"},
                                headers=member)).status_code == 403


async def test_bad_pulls_are_4xx(client, session):
    admin = await admin_headers(client, session)
    assert (await client.post(f"{LEVERS}/nothing", json={"target": "x", "value": "on",
                                                         "seconds": 5},
                              headers=admin)).status_code == 404
    for name, target, value, seconds in [("concurrency", "nowhere", "on", 5),
                                         ("concurrency", "search", "maybe", 5),
                                         ("queue", "email", "999", 5),
                                         ("breaker", "cache", "ajar", 5),
                                         ("concurrency", "search", "on", 86_400)]:
        response = await client.post(f"{LEVERS}/{name}", headers=admin, json={
            "target": target, "value": value, "seconds": seconds})
        assert response.status_code == 422, (name, target, value, response.text)
        assert response.headers["content-type"] == "application/problem+json"


async def test_the_concurrency_limit_sheds_while_on_and_stops_when_undone_or_expired(
        started, session):
    application = await started()
    async with client_at(application) as http:
        admin = await admin_headers(http, session)
        # Off: nothing is shed, however many are in flight.
        first = asyncio.create_task(http.get(SLOW))
        await eventually(lambda: _inflight(application, 1))
        second = asyncio.create_task(http.get(SLOW))
        await eventually(lambda: _inflight(application, 2))
        application.state.release_slow.set()
        assert [(await first).status_code, (await second).status_code] == [200, 200]

        pulled = await http.post(f"{LEVERS}/concurrency", headers=admin,
                                 json={"target": SLOW_CLASS, "value": "on", "seconds": 1})
        assert pulled.status_code == 200, pulled.text
        application.state.release_slow.clear()
        holding = asyncio.create_task(http.get(SLOW))
        await eventually(lambda: _inflight(application, 1))
        limit = application.state.levers.levers["concurrency"].classes[0].limiter.limit
        shed = [await http.get(SLOW) for _ in range(limit)][-1]
        assert shed.status_code == 503
        assert shed.headers["retry-after"] == "1"
        assert shed.headers["content-type"] == "application/problem+json"
        report = (await http.get(LEVERS, headers=admin)).json()
        [mine] = _with_slow(report)
        assert mine["levers"]["concurrency"][SLOW_CLASS]["shed"] >= 1
        assert mine["levers"]["concurrency"][SLOW_CLASS]["enabled"] is True
        assert [s["lever"] for s in report["settings"]] == ["concurrency"]

        # Expired after its second: served again.
        await asyncio.sleep(1.1)
        application.state.release_slow.set()
        assert (await http.get(SLOW)).status_code == 200
        assert (await holding).status_code == 200

        # Undone before it expires: served again.
        await http.post(f"{LEVERS}/concurrency", headers=admin,
                        json={"target": SLOW_CLASS, "value": "on", "seconds": 60})
        application.state.release_slow.clear()
        holding = asyncio.create_task(http.get(SLOW))
        await eventually(lambda: _inflight(application, 1))
        assert (await http.get(SLOW)).status_code == 503
        undone = await http.delete(f"{LEVERS}/concurrency", params={"target": SLOW_CLASS},
                                   headers=admin)
        assert undone.status_code == 204
        assert (await http.get(LEVERS, headers=admin)).json()["settings"] == []
        application.state.release_slow.set()
        assert (await http.get(SLOW)).status_code == 200
        await holding


def _with_slow(report: dict) -> list[dict]:
    """The processes of this test's applications (the suite's own answers too)."""
    return [process for process in report["processes"]
            if SLOW_CLASS in process["levers"]["concurrency"]]


async def _inflight(application, count: int) -> bool:
    return application.state.levers.levers["concurrency"].classes[0].inflight == count


async def test_a_tightened_client_is_refused_past_its_quota_until_undone_or_expired(
        started, session):
    application = await started(ratelimit_enabled=True)
    async with client_at(application, "203.0.113.9") as tight, \
            client_at(application, "203.0.113.10") as other:
        admin = await admin_headers(other, session)
        pulled = await other.post(f"{LEVERS}/client_limit", headers=admin, json={
            "target": "ip:203.0.113.9", "value": "2/minute", "seconds": 60})
        assert pulled.status_code == 200, pulled.text
        statuses = [(await tight.get("/api/v1/feed/public")).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert [(await other.get("/api/v1/feed/public")).status_code
                for _ in range(3)] == [200, 200, 200]
        state = (await other.get(LEVERS, headers=admin)).json()["processes"][0]["levers"]
        assert state["client_limit"]["ip:203.0.113.9"]["quota"] == 2

        assert (await other.delete(f"{LEVERS}/client_limit", params={
            "target": "ip:203.0.113.9"}, headers=admin)).status_code == 204
        assert (await tight.get("/api/v1/feed/public")).status_code == 200

        await other.post(f"{LEVERS}/client_limit", headers=admin, json={
            "target": "ip:203.0.113.9", "value": "1/minute", "seconds": 1})
        assert (await tight.get("/api/v1/feed/public")).status_code == 200
        assert (await tight.get("/api/v1/feed/public")).status_code == 429
        await asyncio.sleep(1.1)
        assert (await tight.get("/api/v1/feed/public")).status_code == 200


async def test_the_redis_breakers_are_held_open_and_closed(started, session, redis_server):
    application = await started(ratelimit_enabled=True, redis_url=redis_server.url)
    cache, limiter = application.state.cache, application.state.rate_limiter
    async with client_at(application) as http:
        admin = await admin_headers(http, session)
        assert cache.l2_state == "closed" and limiter.shared
        for target in ("cache", "ratelimit"):
            pulled = await http.post(f"{LEVERS}/breaker", headers=admin, json={
                "target": target, "value": "open", "seconds": 60})
            assert pulled.status_code == 200, pulled.text
        assert cache.l2_state == "open" and not limiter.shared
        state = (await http.get(LEVERS, headers=admin)).json()["processes"][0]["levers"]
        assert state["breaker"] == {"cache": {"state": "open", "held": "open"},
                                    "ratelimit": {"state": "local", "held": "open"}}
        # Held open, a successful probe does not close it.
        await asyncio.sleep(1.2)
        assert cache.l2_state in ("open", "half_open")

        for target in ("cache", "ratelimit"):
            assert (await http.delete(f"{LEVERS}/breaker", params={"target": target},
                                      headers=admin)).status_code == 204
        await eventually(lambda: _closed(cache))
        assert limiter.shared

        # Held closed, for a second: failures do not open it; then it expires.
        await http.post(f"{LEVERS}/breaker", headers=admin, json={
            "target": "cache", "value": "closed", "seconds": 1})
        assert cache.l2_held == "closed"
        breaker = cache._l2.breaker
        for _ in range(breaker.failure_threshold + 1):
            breaker.record_failure(ConnectionError("test"))
        assert cache.l2_state == "closed"
        await asyncio.sleep(1.1)
        assert cache.l2_held is None


async def _closed(cache) -> bool:
    return cache.l2_state == "closed"


async def test_a_lever_pulled_in_one_application_reaches_another(started, session):
    first, second = await started(), await started()
    async with client_at(first) as http:
        admin = await admin_headers(http, session)
        pulled = await http.post(f"{LEVERS}/concurrency", headers=admin,
                                 json={"target": SLOW_CLASS, "value": "on", "seconds": 60})
        assert pulled.status_code == 200
        other = second.state.levers.levers["concurrency"].classes[0]
        await eventually(lambda: _enabled(other, True))
        report = (await http.get(LEVERS, headers=admin)).json()
        assert len(_with_slow(report)) == 2
        assert all(process["levers"]["concurrency"][SLOW_CLASS]["enabled"]
                   for process in _with_slow(report))

        # A process started afterwards learns the settings in force from the others.
        third = await started()
        late = third.state.levers.levers["concurrency"].classes[0]
        await eventually(lambda: _enabled(late, True))

        await http.delete(f"{LEVERS}/concurrency", params={"target": SLOW_CLASS}, headers=admin)
        await eventually(lambda: _enabled(other, False))
        await eventually(lambda: _enabled(late, False))


async def _enabled(route_class, enabled: bool) -> bool:
    return route_class.enabled is enabled
