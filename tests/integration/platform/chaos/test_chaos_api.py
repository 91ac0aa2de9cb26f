"""Fault injection through the real application: each fault's real symptom, expiry and
clearing, refusal where chaos is off or in production, 403 for members, and a fault injected
through one application (and from the CLI's board) reaching another over the live hub."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text, update
from tests import factories
from tests.waiting import eventually

from lifeceo.app import create_app
from lifeceo.community.users.models import User
from lifeceo.platform.cache import MISSING
from lifeceo.platform.chaos import control
from lifeceo.platform.observability import loop_lag
from lifeceo.platform.observability.recent import RECENT_LOGS
from lifeceo.platform.queue import enqueue, job
from lifeceo.platform.queue.gates import GATES
from lifeceo.platform.queue.worker import run_worker
from lifeceo.settings import Settings

CHAOS = "/api/v1/admin/chaos"
PROBE = f"{CHAOS}/probe/n-plus-one"
HEALTH = "/api/health"


def client_for(application) -> httpx.AsyncClient:
    # Injected errors propagate out of the application as real ones do; the client sees the 500.
    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def started(app) -> AsyncIterator[Callable[..., Awaitable]]:
    """`await started(**settings)`: an application of its own with chaos enabled."""
    async with AsyncExitStack() as stack:

        async def start(**overrides):
            application = create_app(Settings(**{"chaos_enabled": True,
                                                  "chaos_report_wait_ms": 500, **overrides}))
            await stack.enter_async_context(application.router.lifespan_context(application))
            return application

        yield start


async def admin_headers(http: httpx.AsyncClient, session, name: str = "boss") -> dict[str, str]:
    headers = await factories.user(http, name)
    await session.execute(update(User).where(User.username == name).values(is_admin=True))
    await session.commit()
    return headers


async def inject(http, headers, kind: str, magnitude: float, seconds: int = 30,
                 target: str | None = None) -> dict:
    body = {"magnitude": magnitude, "seconds": seconds}
    if target is not None:
        body["target"] = target
    response = await http.post(f"{CHAOS}/{kind}", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_chaos_is_absent_by_default_and_refused_in_production(client, started):
    response = await client.get(CHAOS)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert (await client.post(f"{CHAOS}/db_latency", json={"magnitude": 1, "seconds": 1})
            ).status_code == 404
    application = await started(env="production", secret_key="x" * 40)
    assert application.state.chaos is None
    async with client_for(application) as http:
        assert (await http.get(CHAOS)).status_code == 404
    allowed = await started(env="production", secret_key="x" * 40,
                            chaos_allow_in_production=True)
    assert allowed.state.chaos is not None


async def test_members_may_not_inject_and_bad_injections_are_4xx(started, session):
    application = await started()
    async with client_for(application) as http:
        member = await factories.user(http, "member")
        assert (await http.get(CHAOS)).status_code == 401
        assert (await http.get(CHAOS, headers=member)).status_code == 403
        assert (await http.post(f"{CHAOS}/loop_blocker", headers=member,
                                json={"magnitude": 10, "seconds": 5})).status_code == 403
        assert (await http.delete(CHAOS, headers=member)).status_code == 403
        admin = await admin_headers(http, session)
        assert (await http.post(f"{CHAOS}/nothing", headers=admin,
                                json={"magnitude": 1, "seconds": 5})).status_code == 404
        for kind, body in [("route_errors", {"magnitude": 2, "seconds": 5}),
                           ("route_errors", {"magnitude": 0.5, "seconds": 5, "target": "x"}),
                           ("cold_cache", {"magnitude": 1, "seconds": 5}),
                           ("loop_blocker", {"magnitude": 10, "seconds": 601}),
                           ("queue_stall", {"magnitude": 1, "seconds": 5, "target": "nope"})]:
            response = await http.post(f"{CHAOS}/{kind}", headers=admin, json=body)
            assert response.status_code == 422, (kind, body, response.text)
            assert response.headers["content-type"] == "application/problem+json"
        # No Redis on this deployment: nothing to take down.
        assert (await http.post(f"{CHAOS}/redis_outage", headers=admin,
                                json={"magnitude": 1, "seconds": 5})).status_code == 409


async def test_route_errors_answer_a_share_with_real_500s_until_cleared(started, session):
    application = await started()
    async with client_for(application) as http:
        admin = await admin_headers(http, session)
        await inject(http, admin, "route_errors", 1.0, target="health")
        assert (await http.get(HEALTH)).status_code == 500
        # Other classes, and the chaos routes themselves, are untouched.
        assert (await http.get(PROBE, headers=admin)).status_code == 200
        await inject(http, admin, "route_errors", 0.5, target="health")
        statuses = [(await http.get(HEALTH)).status_code for _ in range(200)]
        assert set(statuses) == {200, 500}
        assert 60 <= statuses.count(500) <= 140
        cleared = await http.delete(f"{CHAOS}/route_errors", headers=admin)
        assert [fault["target"] for fault in cleared.json()["cleared"]] == ["health"]
        assert {(await http.get(HEALTH)).status_code for _ in range(20)} == {200}
        # Counted as the 500s they are, by the real metrics middleware.
        metrics = (await http.get("/api/metrics")).text.splitlines()
        assert any(line.startswith("lifeceo_http_requests_total{") and 'status="5xx"' in line
                   and 'route="/api/health"' in line and float(line.split()[-1]) >= 60
                   for line in metrics)


async def test_db_latency_delays_each_statement_of_the_route_class(started, session):
    application = await started()
    async with client_for(application) as http:
        admin = await admin_headers(http, session)
        await http.get(PROBE, headers=admin)

        async def timed() -> float:
            began = time.perf_counter()
            assert (await http.get(PROBE, headers=admin)).status_code == 200
            return time.perf_counter() - began

        before = min([await timed() for _ in range(3)])
        await inject(http, admin, "db_latency", 300, target="admin")
        during = min([await timed() for _ in range(3)])
        # The probe runs one statement (the admin check adds its own): at least 300 ms more.
        assert during - before >= 0.3, (before, during)
        await http.delete(f"{CHAOS}/db_latency", headers=admin)
        # Cleared: the 300 ms per statement are gone (a loaded machine adds noise, not 300 ms).
        assert min([await timed() for _ in range(3)]) < during - 0.25


async def test_clearing_db_latency_under_delayed_statements_fails_none_of_them(
        started, session):
    """Statements parked in the delay while the fault is cleared finish, and so do injections
    and clearings over and over: no 'deque mutated during iteration' 500s."""
    application = await started()
    async with client_for(application) as http:
        admin = await admin_headers(http, session)
        for _ in range(3):
            await inject(http, admin, "db_latency", 200, target="admin")
            parked = [asyncio.create_task(http.get(PROBE, headers=admin)) for _ in range(5)]
            await asyncio.sleep(0.1)
            assert (await http.delete(f"{CHAOS}/db_latency", headers=admin)).status_code == 200
            assert [response.status_code for response in await asyncio.gather(*parked)] == [
                200] * 5


async def test_n_plus_one_repeats_the_probe_s_select(started, session):
    application = await started()
    async with client_for(application) as http:
        admin = await admin_headers(http, session)
        assert (await http.get(PROBE, headers=admin)).json() == {"statements": 1}
        await inject(http, admin, "n_plus_one", 25)
        assert (await http.get(PROBE, headers=admin)).json() == {"statements": 25}
        # The request's profile shows the one statement repeated, as the N+1 detector sees it.
        profiles = await http.get("/api/v1/admin/profiles", headers=admin,
                                  params={"route": PROBE})
        assert profiles.status_code == 200, profiles.text
        repeats = []
        for item in profiles.json()["items"]:
            detail = await http.get(f"/api/v1/admin/profiles/{item['request_id']}",
                                    headers=admin)
            assert detail.status_code == 200, detail.text
            repeats += [statement["count"] for statement in detail.json()["statements"]
                        if "feature_flags" in statement["fingerprint"]]
        assert max(repeats, default=0) >= 25, profiles.text


async def test_loop_blocker_shows_as_loop_lag_and_expires(started, session):
    application = await started()
    async with client_for(application) as http:
        admin = await admin_headers(http, session)
        since = time.monotonic()
        await inject(http, admin, "loop_blocker", 300, seconds=3)
        await asyncio.sleep(2.5)
        assert loop_lag.monitor().worst_since(since) >= 0.25
        # Expired by itself after its 3 s: gone from every list, and the loop is on time again.
        await asyncio.sleep(2.0)
        assert application.state.chaos.levers["loop_blocker"].active == {}
        assert (await http.get(CHAOS, headers=admin)).json()["faults"] == []
        quiet = time.monotonic()
        await asyncio.sleep(1.5)
        assert loop_lag.monitor().worst_since(quiet) < 0.2


async def test_memory_leak_retains_memory_until_cleared(started, session):
    application = await started()
    async with client_for(application) as http:
        admin = await admin_headers(http, session)
        await inject(http, admin, "memory_leak", 120)
        leak = application.state.chaos.levers["memory_leak"]
        await eventually(lambda: _true(leak.retained_bytes >= 4 * 1024 * 1024), timeout=5)
        report = (await http.get(CHAOS, headers=admin)).json()
        [mine] = [process for process in report["processes"]
                  if process["levers"]["memory_leak"].get("retained_bytes")]
        assert mine["levers"]["memory_leak"]["all"]["magnitude"] == 120
        await http.delete(CHAOS, headers=admin)
        assert leak.retained_bytes == 0


async def test_cold_cache_empties_a_namespace_repeatedly(started, session):
    application = await started()
    cache = application.state.cache
    async with client_for(application) as http:
        admin = await admin_headers(http, session)
        await cache.set("chaosprobe:one", {"x": 1}, ttl=300)
        await cache.set("other:one", {"x": 1}, ttl=300)
        await inject(http, admin, "cold_cache", 1, target="chaosprobe")
        await eventually(lambda: _true(cache.get_local("chaosprobe:one") is MISSING))
        await cache.set("chaosprobe:one", {"x": 2}, ttl=300)
        await eventually(lambda: _true(cache.get_local("chaosprobe:one") is MISSING))
        assert await cache.get("chaosprobe:one") is MISSING
        assert cache.get_local("other:one") == {"x": 1}
        await http.delete(f"{CHAOS}/cold_cache", headers=admin)
        await cache.set("chaosprobe:one", {"x": 3}, ttl=300)
        await asyncio.sleep(1.5)
        assert await cache.get("chaosprobe:one") == {"x": 3}


async def test_redis_outage_opens_the_breaker_the_normal_way(started, session, redis_server):
    application = await started(redis_url=redis_server.url)
    cache = application.state.cache
    async with client_for(application) as http:
        admin = await admin_headers(http, session)
        await cache.set("posts:chaos", {"x": 1}, ttl=60)
        assert cache.l2_state == "closed"
        await inject(http, admin, "redis_outage", 1, target="cache")

        async def opened() -> bool:
            await cache.get("posts:missing")
            return cache.l2_state == "open"

        await eventually(opened, timeout=10)
        report = (await http.get(CHAOS, headers=admin)).json()
        assert report["faults"][0]["kind"] == "redis_outage"
        await http.delete(f"{CHAOS}/redis_outage", headers=admin)

        async def closed() -> bool:
            await cache.get("posts:missing")
            return cache.l2_state == "closed"

        await eventually(closed, timeout=30)


async def test_slow_dependency_delays_outgoing_http(started, session):
    async def answer(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    application = await started()
    try:
        async with client_for(application) as http, httpx.AsyncClient() as outgoing:
            admin = await admin_headers(http, session)
            await inject(http, admin, "slow_dependency", 400, target="http")
            began = time.perf_counter()
            assert (await outgoing.get(url)).status_code == 204
            assert time.perf_counter() - began >= 0.4
            await http.delete(CHAOS, headers=admin)
            began = time.perf_counter()
            await outgoing.get(url)
            assert time.perf_counter() - began < 0.3
    finally:
        server.close()


STALLED = asyncio.Event()


@job("chaos-test-job", queue="analytics")
async def counted(ctx) -> None:
    STALLED.set()


async def test_queue_stall_keeps_jobs_todo_then_runs_them(queued, started, session):
    application = await started()
    settings = queued.settings.model_copy(update={"chaos_enabled": True})
    stop = asyncio.Event()
    STALLED.clear()
    worker = asyncio.create_task(run_worker(settings, queues=["analytics"], stop=stop))
    try:
        async with client_for(application) as http:
            admin = await admin_headers(http, session)

            async def worker_reports() -> bool:
                report = (await http.get(CHAOS, headers=admin)).json()
                return any(process["role"] == "worker" for process in report["processes"])

            await eventually(worker_reports, timeout=20)
            await inject(http, admin, "queue_stall", 1, target="analytics")
            await eventually(lambda: _true(GATES["analytics"].limit == 0))
            async with queued.sessionmaker() as jobs:
                for _ in range(3):
                    await enqueue(jobs, "chaos-test-job")
                await jobs.commit()
            await asyncio.sleep(2.0)
            assert await _statuses(queued) == {"todo": 3}
            await http.delete(f"{CHAOS}/queue_stall", headers=admin)
            await eventually(lambda: _statuses_are(queued, {"succeeded": 3}), timeout=15)
    finally:
        stop.set()
        assert await asyncio.wait_for(worker, 60) == 0
        GATES.clear()


async def test_a_fault_reaches_another_application_and_the_cli_clears_it(started, session,
                                                                       database_url):
    began = datetime.now(UTC)
    first = await started()
    second = await started()
    async with client_for(first) as http:
        admin = await admin_headers(http, session)
        await inject(http, admin, "n_plus_one", 7)
        await eventually(lambda: _true(second.state.chaos.levers["n_plus_one"].repeats() == 7))
        report = (await http.get(CHAOS, headers=admin)).json()
        assert len([p for p in report["processes"] if p["role"] == "web"]) >= 2
    settings = Settings(chaos_enabled=True, chaos_report_wait_ms=500)
    # The CLI's board: a process of its own, heard over the hub like the API.
    await control.inject(settings, database_url, kind="loop_blocker", magnitude=5, seconds=30,
                         target=None)
    await eventually(lambda: _true(bool(second.state.chaos.levers["loop_blocker"].active)))
    faults, processes = await control.status(settings, database_url)
    assert {fault.lever for fault in faults} == {"n_plus_one", "loop_blocker"}
    assert len(processes) >= 2
    cleared = await control.clear(settings, database_url, kind=None)
    assert {fault.lever for fault in cleared} == {"n_plus_one", "loop_blocker"}
    await eventually(lambda: _true(not any(fault.active for application in (first, second)
                                           for fault in application.state.chaos.levers.values())))
    # Logged once each, as warnings with the actor (the ring every process keeps).
    records = [str(record) for record in RECENT_LOGS.query(level="warning", since=began,
                                                                limit=1000)]
    assert sum("fault injected" in line and "n_plus_one" in line and "user:" in line
               for line in records) == 1
    assert sum("faults cleared" in line and "'cli'" in line for line in records) == 1


async def _true(value: bool) -> bool:
    return value


async def _statuses(queued) -> dict[str, int]:
    async with queued.sessionmaker() as db:
        rows = await db.execute(text("SELECT status, count(*) FROM procrastinate_jobs"
                                     " WHERE task_name = 'chaos-test-job' GROUP BY 1"))
        return {status: count for status, count in rows}


async def _statuses_are(queued, expected: dict[str, int]) -> bool:
    return await _statuses(queued) == expected
