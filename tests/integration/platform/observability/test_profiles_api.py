"""Request profiles through the real application: a route that runs one query many times is
found by its request id under its route template, with the statement counted; administrators
only; off, nothing is recorded."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import BackgroundTasks, FastAPI, Request
from sqlalchemy import bindparam, text, update
from sqlalchemy.exc import ProgrammingError
from tests import factories

from lifeceo.app import create_app
from lifeceo.community.users.models import User
from lifeceo.platform.observability import metrics
from lifeceo.platform.observability.profiles import ProfileMiddleware
from lifeceo.settings import Settings

PROFILES_URL = "/api/v1/admin/profiles"
TEMPLATE = "/api/v1/test/repeat/{times}"
# An IN list of another length each time: other statement texts, one fingerprint.
LOOKUP = text("SELECT count(*) FROM users WHERE id IN :ids").bindparams(
    bindparam("ids", expanding=True))
AFTERWARDS = "SELECT 'after the response' AS background"
ELSEWHERE = "SELECT 'meanwhile' AS elsewhere"


async def repeat(times: int, request: Request, background: BackgroundTasks):
    async with request.app.state.sessionmaker() as session:
        for ids in range(1, times + 1):
            await session.execute(LOOKUP, {"ids": list(range(ids))})

    async def later() -> None:
        async with request.app.state.sessionmaker() as session:
            await session.execute(text(AFTERWARDS))

    # Runs after the response is sent: no longer the request's.
    background.add_task(later)
    return {"ran": times}


async def started(settings: Settings) -> FastAPI:
    application = create_app(settings)
    application.add_api_route("/api/v1/test/repeat/{times}", repeat, methods=["GET"])
    return application


@pytest.fixture
async def profiled(app) -> AsyncIterator[FastAPI]:
    application = await started(Settings())
    async with application.router.lifespan_context(application):
        yield application


async def test_an_administrator_reads_a_request_s_repeated_statement(profiled, session):
    transport = httpx.ASGITransport(app=profiled)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        member = await factories.user(http, "member")
        admin = await factories.user(http, "boss")
        await session.execute(update(User).where(User.username == "boss").values(is_admin=True))
        await session.commit()
        ran = await http.get("/api/v1/test/repeat/12", headers={"X-Request-ID": "repeat-12"})
        assert ran.status_code == 200
        assert (await http.get(PROFILES_URL)).status_code == 401
        refused = [await http.get(url, headers=member)
                   for url in (PROFILES_URL, f"{PROFILES_URL}/repeat-12")]
        listed = await http.get(PROFILES_URL, params={"route": TEMPLATE}, headers=admin)
        slowest = await http.get(PROFILES_URL, params={"order": "slowest", "limit": 1},
                                 headers=admin)
        detail = await http.get(f"{PROFILES_URL}/repeat-12", headers=admin)
        missing = await http.get(f"{PROFILES_URL}/never-made", headers=admin)
        invalid = [await http.get(PROFILES_URL, params=params, headers=admin) for params in (
            {"limit": 0}, {"order": "fastest"}, {"min_duration_ms": -1}, {"since": "yesterday"},
            {"scope": "node"})]

    assert [answer.status_code for answer in refused] == [403, 403]
    assert listed.status_code == 200
    page = listed.json()
    [summary] = page["items"]
    assert summary["request_id"] == "repeat-12" and summary["route"] == TEMPLATE
    assert (summary["method"], summary["status"]) == ("GET", 200)
    assert summary["top_statement"]["count"] == 12
    assert page["held"] >= 1 and page["capacity"] == (Settings().profile_max_requests
                                                      + Settings().profile_slow_max_requests)
    assert len(slowest.json()["items"]) == 1

    assert detail.status_code == 200
    profile = detail.json()
    [lookup] = [statement for statement in profile["statements"] if statement["count"] == 12]
    assert lookup["fingerprint"] == "SELECT count(*) FROM users WHERE id IN (?)"
    assert lookup["total_ms"] >= lookup["max_ms"] > 0
    assert profile["statement_count"] >= 12 and profile["sql_ms"] >= lookup["total_ms"]
    assert profile["duration_ms"] >= profile["sql_ms"]
    # The background task's statement ran after the response, outside the request.
    assert not any("background" in statement["fingerprint"] for statement in profile["statements"])
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert [answer.status_code for answer in invalid] == [422] * 5


async def test_statements_outside_a_request_are_not_counted_into_it(profiled):
    """A statement of another task (a job, a lifespan task) while a request is running."""
    waiting, release = asyncio.Event(), asyncio.Event()

    async def wait(request: Request):
        async with request.app.state.sessionmaker() as session:
            await session.execute(text("SELECT 'in the request' AS inside"))
            waiting.set()
            await release.wait()
        return {}

    profiled.add_api_route("/api/v1/test/wait", wait, methods=["GET"])
    transport = httpx.ASGITransport(app=profiled)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        answer = asyncio.create_task(http.get("/api/v1/test/wait",
                                              headers={"X-Request-ID": "waiting-1"}))
        await waiting.wait()
        async with profiled.state.sessionmaker() as session:
            await session.execute(text(ELSEWHERE))
        release.set()
        assert (await answer).status_code == 200
    counted = [statement.fingerprint for statement in profiled.state.profile_store.find("waiting-1").by_fingerprint()]
    assert "SELECT ? AS inside" in counted
    assert "SELECT ? AS elsewhere" not in counted


async def test_without_metrics_statements_are_still_profiled_failed_ones_too(app):
    """One timer feeds the histogram and the profiles: switching metrics off keeps profiles, and
    a statement that raises is counted as one that returns."""
    application = await started(Settings(metrics_enabled=False))

    async def failing(request: Request):
        async with request.app.state.sessionmaker() as session:
            await session.execute(text("SELECT 'fine' AS working"))
            with pytest.raises(ProgrammingError):
                await session.execute(text("SELECT 'never' AS failing FROM no_such_table"))
        return {}

    application.add_api_route("/api/v1/test/failing", failing, methods=["GET"])
    try:
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(transport=transport,
                                         base_url="http://testserver") as http:
                answer = await http.get("/api/v1/test/failing",
                                        headers={"X-Request-ID": "failing-1"})
    finally:
        metrics.configure(enabled=True)  # the application built with metrics off turned them off
    assert answer.status_code == 200
    counted = {statement.fingerprint: statement.count
               for statement in application.state.profile_store.find("failing-1").by_fingerprint()}
    assert counted["SELECT ? AS working"] == 1
    assert counted["SELECT ? AS failing FROM no_such_table"] == 1


async def test_profiles_off_records_nothing(app):
    application = await started(Settings(profiles_enabled=False))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            assert (await http.get("/api/v1/test/repeat/6")).status_code == 200
    assert len(application.state.profile_store) == 0
    assert not any(middleware.cls is ProfileMiddleware
                   for middleware in application.user_middleware)
