"""Every process's request profiles through the real applications: two applications on the test
database (over NOTIFY, and over Redis) are two processes' samples; a profile kept by one is
listed and found through the other, a silent process or a dead hub leaves the answering one's,
and the monitor's evidence names the other's repeated statements."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import text, update
from tests import factories

from lifeceo.app import create_app
from lifeceo.community.users.models import User
from lifeceo.platform.monitor import evidence
from lifeceo.platform.monitor.detectors import Detection
from lifeceo.settings import Settings

PROFILES = "/api/v1/admin/profiles"
TEMPLATE = "/api/v1/test/sleepy/{times}"
# Short enough to keep the suite quick, long enough for a loaded 2-core machine's NOTIFY.
WAIT_MS = 500
# Each one 6 ms: ten of them are a request that breaks the N+1 rule (5 times, 50 ms).
SLEEP = text("SELECT pg_sleep(0.006)")


async def sleepy(times: int, request: Request):
    async with request.app.state.sessionmaker() as session:
        for _ in range(times):
            await session.execute(SLEEP)
    return {"ran": times}


@pytest.fixture
async def started(app) -> AsyncIterator[Callable[..., Awaitable[FastAPI]]]:
    """`await started(**settings)`: an application of its own (a process of its own, as far as
    profiles go: each application keeps its own sample) on the test database."""
    async with AsyncExitStack() as stack:

        async def start(**overrides) -> FastAPI:
            application = create_app(Settings(profiles_report_wait_ms=WAIT_MS, **overrides))
            application.add_api_route("/api/v1/test/sleepy/{times}", sleepy, methods=["GET"])
            await stack.enter_async_context(application.router.lifespan_context(application))
            return application

        yield start


def client_for(application: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=application),
                             base_url="http://testserver")


async def admin_headers(http: httpx.AsyncClient, session) -> dict[str, str]:
    headers = await factories.user(http, "boss")
    await session.execute(update(User).where(User.username == "boss").values(is_admin=True))
    await session.commit()
    return headers


@pytest.mark.parametrize("transport", ["postgres", "redis"])
async def test_a_profile_kept_by_another_process_is_listed_and_found(
        started, session, transport, request):
    overrides = ({"redis_url": request.getfixturevalue("redis_server").url}
                 if transport == "redis" else {})
    first, second = await started(**overrides), await started(**overrides)
    assert first.state.live.backend == second.state.live.backend == transport
    async with client_for(first) as here, client_for(second) as there:
        admin = await admin_headers(here, session)
        ran = await there.get("/api/v1/test/sleepy/10", headers={"X-Request-ID": "kept-by-b"})
        assert ran.status_code == 200
        assert second.state.profile_store.find("kept-by-b") is not None
        assert first.state.profile_store.find("kept-by-b") is None

        everywhere = await here.get(PROFILES, params={"route": TEMPLATE}, headers=admin)
        local = await here.get(PROFILES, params={"route": TEMPLATE, "scope": "process"},
                               headers=admin)
        found = await here.get(f"{PROFILES}/kept-by-b", headers=admin)
        not_here = await here.get(f"{PROFILES}/kept-by-b", params={"scope": "process"},
                                  headers=admin)
        nowhere = await here.get(f"{PROFILES}/made-by-nobody", headers=admin)

    assert everywhere.status_code == 200, everywhere.text
    page = everywhere.json()
    assert page["scope"] == "all"
    [summary] = [item for item in page["items"] if item["request_id"] == "kept-by-b"]
    assert summary["route"] == TEMPLATE and summary["top_statement"]["count"] == 10
    assert summary["process"] == second.state.profiles.process
    # Both applications (and the suite's own, on the same database) answered.
    assert page["answered"] >= 2 and len(page["processes"]) == page["answered"]
    assert page["processes"][0]["held"] == page["held"]
    assert local.json()["items"] == [] and local.json()["answered"] == 1

    assert found.status_code == 200, found.text
    [slept] = [s for s in found.json()["statements"] if s["fingerprint"] == "SELECT pg_sleep(?)"]
    assert slept["count"] == 10
    assert found.json()["repeated"] == [slept]
    assert not_here.status_code == 404
    assert nowhere.status_code == 404
    assert nowhere.headers["content-type"] == "application/problem+json"
    assert nowhere.json()["answered"] >= 2


async def test_the_merged_page_is_ordered_and_limited_across_processes(started, session):
    first, second = await started(), await started()
    async with client_for(first) as here, client_for(second) as there:
        admin = await admin_headers(here, session)
        # An application's first requests are slower than any of those below, whatever they run.
        for http, name in ((here, "warm-a"), (there, "warm-b")):
            assert (await http.get("/api/v1/test/sleepy/0",
                                   headers={"X-Request-ID": name})).status_code == 200
        for http, times, name in [(here, 1, "a-1"), (there, 12, "b-12"), (here, 6, "a-6"),
                                  (there, 3, "b-3")]:
            assert (await http.get(f"/api/v1/test/sleepy/{times}",
                                   headers={"X-Request-ID": name})).status_code == 200
        slowest = await here.get(PROFILES, headers=admin, params={
            "route": TEMPLATE, "order": "slowest"})
        newest = await here.get(PROFILES, headers=admin, params={"route": TEMPLATE})
        limited = await here.get(PROFILES, headers=admin, params={"route": TEMPLATE, "limit": 2})

    def named(answer: httpx.Response) -> list[str]:
        return [item["request_id"] for item in answer.json()["items"]
                if not item["request_id"].startswith("warm")]

    assert named(slowest) == ["b-12", "a-6", "b-3", "a-1"]
    assert named(newest) == ["b-3", "a-6", "b-12", "a-1"]
    assert [item["request_id"] for item in limited.json()["items"]] == ["b-3", "a-6"]


async def test_a_silent_process_or_a_dead_hub_leaves_the_answering_one_s(
        started, session, monkeypatch):
    first, second = await started(), await started()
    async with client_for(first) as here, client_for(second) as there:
        admin = await admin_headers(here, session)
        for http, name in [(here, "mine"), (there, "silent")]:
            assert (await http.get("/api/v1/test/sleepy/2",
                                   headers={"X-Request-ID": name})).status_code == 200
        late = second.state.profiles
        answer_body = late._answer_body

        def slow_answer(data):
            time.sleep(2 * WAIT_MS / 1000)  # in the answer's thread: busy, not gone
            return answer_body(data)

        monkeypatch.setattr(late, "_answer_body", slow_answer)
        began = time.monotonic()
        page = await here.get(PROFILES, params={"route": TEMPLATE}, headers=admin)
        took = time.monotonic() - began
        missing = await here.get(f"{PROFILES}/silent", headers=admin)

        async def unreachable(message):
            raise ConnectionError("the hub's transport is down")

        monkeypatch.setattr(first.state.live, "publish", unreachable)
        alone = await here.get(PROFILES, params={"route": TEMPLATE}, headers=admin)
        # The late answers arrive after their questions' waits: heard by nobody, harmful to none.
        await asyncio.sleep(2 * WAIT_MS / 1000)

    assert page.status_code == 200, page.text
    assert [item["request_id"] for item in page.json()["items"]] == ["mine"]
    assert page.json()["answered"] >= 1
    assert WAIT_MS / 1000 <= took < 2 * WAIT_MS / 1000
    assert missing.status_code == 404
    assert alone.status_code == 200, alone.text
    assert [item["request_id"] for item in alone.json()["items"]] == ["mine"]
    assert alone.json()["answered"] == 1


async def test_bad_parameters_are_problems(client, session):
    admin = await admin_headers(client, session)
    for params in ({"scope": "everywhere"}, {"limit": 0}, {"limit": 1001},
                   {"order": "fastest"}, {"min_duration_ms": -1}, {"since": "yesterday"},
                   {"route": "/" * 300}):
        answer = await client.get(PROFILES, params=params, headers=admin)
        assert answer.status_code == 422, (params, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    for path, params in [("bad id!", {}), ("fine-id", {"scope": "nowhere"})]:
        answer = await client.get(f"{PROFILES}/{path}", params=params, headers=admin)
        assert answer.status_code == 422, (path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"


async def test_an_incident_s_evidence_names_every_process_s_repeated_statements(
        started, session):
    leader, other = await started(), await started()
    async with client_for(other) as there:
        assert (await there.get("/api/v1/test/sleepy/10",
                                headers={"X-Request-ID": "n-plus-one-b"})).status_code == 200
    now = datetime.now(UTC)
    repeated = await evidence.repeated_statements(leader.state.profiles,
                                                  since=now - timedelta(minutes=5), limit=5)
    assert repeated.processes >= 2
    snapshot = await evidence.snapshot(
        Detection("n_plus_one", "sleepy", "warning", "repeated statements"), session=session,
        engine=leader.state.engine, now=now, window=timedelta(minutes=5), max_log_records=0,
        max_statements=5, repeated=repeated)
    [request] = [found for found in snapshot["repeated_statements"]
                 if found["request_id"] == "n-plus-one-b"]
    assert request["process"] == other.state.profiles.process
    assert request["statements"][0]["fingerprint"] == "SELECT pg_sleep(?)"
    assert request["statements"][0]["count"] == 10
    assert snapshot["repeated_statements_processes"] == repeated.processes
    # A shorter window than the one gathered leaves out what started before it.
    later = await evidence.snapshot(
        Detection("n_plus_one", "sleepy", "warning", "repeated statements"), session=session,
        engine=leader.state.engine, now=now + timedelta(minutes=10), window=timedelta(minutes=5),
        max_log_records=0, max_statements=5, repeated=repeated)
    assert later["repeated_statements"] == []
