"""Rate limits as clients see them, on applications built with limits switched on (the suite's
own application has them off: it registers hundreds of users from one address)."""

import asyncio
import logging
import re
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from tests import factories
from tests.waiting import eventually

from lifeceo.app import create_app
from lifeceo.platform.ratelimit import limiter as limiter_module
from lifeceo.settings import Settings

ME = "/api/v1/me"
LOGIN = "/api/v1/auth/login"
REGISTER = "/api/v1/auth/register"
ADDRESS = "203.0.113.1"
RATELIMIT = re.compile(r'"(?P<name>\w+)";r=(?P<r>\d+);t=(?P<t>\d+)')


@dataclass
class Limited:
    """An application with limits on, and clients at the addresses a test chooses."""

    app: FastAPI

    def client(self, address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(address, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def limited(app) -> AsyncIterator[Callable[..., Awaitable[Limited]]]:
    """`await limited(**settings)` starts an application with limits on, on the test database
    (emptied through `app`)."""
    async with AsyncExitStack() as stack:

        async def start(**overrides) -> Limited:
            application = create_app(Settings(ratelimit_enabled=True, **overrides))
            await stack.enter_async_context(application.router.lifespan_context(application))
            return Limited(application)

        yield start


def remaining(response: httpx.Response) -> dict[str, int]:
    return {match["name"]: int(match["r"])
            for match in RATELIMIT.finditer(response.headers.get("ratelimit", ""))}


async def test_every_api_response_has_the_headers_and_the_429_is_a_problem(limited):
    server = await limited(ratelimit_api="3/minute")
    async with server.client(ADDRESS) as http:
        answers = [await http.get("/api/v1/users/nobody") for _ in range(4)]
        health = await http.get("/api/health")
    assert [a.status_code for a in answers] == [404, 404, 404, 429]
    assert [remaining(a) for a in answers] == [{"api": 2}, {"api": 1}, {"api": 0}, {"api": 0}]
    assert all(a.headers["ratelimit-policy"] == '"api";q=3;w=60' for a in answers)
    refused = answers[-1]
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["status"] == 429 and refused.json()["policy"] == "api"
    seconds = int(RATELIMIT.search(refused.headers["ratelimit"])["t"])
    assert 1 <= int(refused.headers["retry-after"]) <= 60 and seconds <= 60
    assert "retry-after" not in answers[0].headers
    assert health.status_code == 200 and "ratelimit-policy" not in health.headers


async def test_shared_cacheable_responses_do_not_carry_one_clients_counts(limited):
    server = await limited()
    async with server.client(ADDRESS) as http:
        response = await http.get("/api/v1/events")
    assert response.headers["cache-control"].startswith("public")
    assert response.headers["ratelimit-policy"] == '"api";q=100;w=60'
    assert "ratelimit" not in response.headers


async def test_quotas_are_per_user_when_logged_in_and_per_address_otherwise(limited):
    server = await limited(ratelimit_api="6/minute")
    async with server.client(ADDRESS) as http, server.client("203.0.113.2") as elsewhere:
        ana = await factories.user(http, "ana")
        bob = await factories.user(http, "bob")
        # Four anonymous requests from this address so far (two registrations, two logins).
        ana_statuses = [(await http.get(ME, headers=ana)).status_code for _ in range(7)]
        assert ana_statuses == [200] * 6 + [429]
        assert remaining(await http.get(ME, headers=bob)) == {"api": 5}
        anonymous = [(await http.get(ME)).status_code for _ in range(3)]
        assert anonymous == [401, 401, 429]
        assert remaining(await elsewhere.get(ME)) == {"api": 5}


async def test_charging_the_viewer_changes_no_answer_and_costs_no_second_lookup(limited):
    server = await limited()
    lookups = []

    def count_lookups(_conn, _cursor, statement, *_args) -> None:
        if "token_hash" in statement and statement.lstrip().upper().startswith("SELECT"):
            lookups.append(statement)

    engine = server.app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count_lookups)
    try:
        async with server.client(ADDRESS) as http:
            ana = await factories.user(http, "ana")
            lookups.clear()
            assert (await http.get(ME, headers=ana)).status_code == 200
            assert len(lookups) == 1
            # A stale token on a public route is ignored, as without limits, and the request
            # charged to the address (after the registration and the login).
            stale = {"Authorization": "Bearer stale"}
            on_public_route = await http.get("/api/v1/users/ana", headers=stale)
            assert on_public_route.status_code == 200 and remaining(on_public_route) == {"api": 97}
            assert (await http.get(ME, headers=stale)).status_code == 401
            # A browser holding a session cookie may log in again without the CSRF header.
            login = {"username": "ana", "password": factories.PASSWORD}
            await http.post(LOGIN, json=login)
            again = await http.post(LOGIN, json=login)
            assert again.status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count_lookups)


async def test_the_peer_address_counts_not_a_forwarded_header_it_sends(limited):
    # Believing X-Forwarded-For from trusted proxies is uvicorn's job under `lifeceo serve`
    # (see test_ratelimit_serve); the application itself never reads it.
    server = await limited(ratelimit_api="2/minute")
    async with server.client(ADDRESS) as http:
        statuses = [(await http.get("/api/v1/users/nobody",
                                    headers={"X-Forwarded-For": f"198.51.100.{n}"})).status_code
                    for n in range(3)]
    assert statuses == [404, 404, 429]


async def test_each_write_route_is_charged_to_its_policy(limited):
    server = await limited(ratelimit_content="2/minute")
    async with server.client(ADDRESS) as http:
        ana = await factories.user(http, "ana")
        routes = {
            "/api/v1/posts": "content", "/api/v1/posts/1/comments": "content",
            "/api/v1/events": "events", "/api/v1/users/ana/follow": "follows",
            "/api/v1/media": "uploads", REGISTER: "registration", LOGIN: "auth",
        }
        for path, policy in routes.items():
            # An invalid body is refused after the charge: only the policy names matter here.
            response = await http.post(path, json={"unexpected": 1}, headers=ana)
            assert response.headers["ratelimit-policy"].split(", ")[1].startswith(f'"{policy}"')
        # The two content routes above have spent the quota of two.
        post = await http.post("/api/v1/posts", json={"body": "hola"}, headers=ana)
        assert post.status_code == 429 and post.json()["policy"] == "content"
        assert (await http.post("/api/v1/events", json={}, headers=ana)).status_code == 422


async def test_registrations_are_limited_per_address(limited):
    server = await limited()
    async with server.client(ADDRESS) as http, server.client("203.0.113.2") as elsewhere:
        statuses = [(await http.post(REGISTER, json={
            "username": f"dancer{n}", "email": f"d{n}@example.org", "password": "long enough pw",
        })).status_code for n in range(4)]
        assert statuses == [201, 201, 201, 429]
        other = await elsewhere.post(REGISTER, json={
            "username": "dancer9", "email": "d9@example.org", "password": "long enough pw"})
        assert other.status_code == 201


async def test_only_failed_logins_count_and_a_spent_quota_refuses_even_the_right_password(
        limited):
    server = await limited()
    right = {"username": "lead", "password": factories.PASSWORD}
    wrong = {"username": "lead", "password": "not the password"}
    async with server.client(ADDRESS) as http, server.client("203.0.113.2") as elsewhere:
        await factories.user(elsewhere, "lead")
        for _ in range(3):
            success = await http.post(LOGIN, json=right)
            assert success.status_code == 200 and remaining(success)["auth"] == 5
        failures = [await http.post(LOGIN, json=wrong) for _ in range(5)]
        assert [f.status_code for f in failures] == [401] * 5
        assert [remaining(f)["auth"] for f in failures] == [4, 3, 2, 1, 0]
        refused = await http.post(LOGIN, json=right)
        assert refused.status_code == 429 and refused.json()["policy"] == "auth"
        assert int(refused.headers["retry-after"]) >= 1
        assert (await http.post(LOGIN, json=wrong)).status_code == 429
        assert (await elsewhere.post(LOGIN, json=right)).status_code == 200


async def test_concurrent_failed_logins_cannot_outrun_the_quota(limited):
    server = await limited()
    async with server.client("203.0.113.2") as setup, server.client(ADDRESS) as http:
        await factories.user(setup, "lead")
        wrong = {"username": "lead", "password": "not the password"}
        results = await asyncio.gather(*(http.post(LOGIN, json=wrong) for _ in range(20)))
    assert sorted(r.status_code for r in results) == [401] * 5 + [429] * 15


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    def count(self, text: str) -> int:
        return sum(text in message for message in self.messages)


@pytest.fixture
def limiter_log() -> Iterator[Recorder]:
    recorder = Recorder()
    logger = logging.getLogger(limiter_module.__name__)
    logger.addHandler(recorder)
    yield recorder
    logger.removeHandler(recorder)


async def _sharing(servers: list[Limited]) -> None:
    """Until each limiter has counted through Redis once. Its first call connects and loads the
    counting script, which on a loaded machine may outlast the timeout: that request is then
    counted locally, and the next ones through Redis again."""
    for server in servers:
        limiter = server.app.state.rate_limiter

        async def counted_through_redis(limiter=limiter) -> bool:
            await limiter.hit("api", "warm-up")
            return limiter.shared

        await eventually(counted_through_redis)


async def test_redis_shares_the_counts_and_an_outage_leaves_each_process_counting(
        limited, redis_server, limiter_log, monkeypatch):
    monkeypatch.setattr(limiter_module, "REDIS_RETRY_SECONDS", 0.1)
    # Two applications on one Redis stand for two worker processes (or two nodes).
    servers = [await limited(redis_url=redis_server.url, ratelimit_api="4/minute")
               for _ in range(2)]
    await _sharing(servers)
    limiter_log.messages.clear()
    first, second = (server.client(ADDRESS) for server in servers)
    async with first, second:
        assert [(await http.get("/api/v1/users/nobody")).status_code
                for http in (first, second, first, second, second)] == [404] * 4 + [429]

        redis_server.stop()
        # Each process counts alone now: four each, and nothing fails.
        during = [(await first.get("/api/v1/users/nobody")).status_code for _ in range(5)]
        await asyncio.sleep(0.15)  # a retry of Redis fails, and is not logged again
        during += [(await second.get("/api/v1/users/nobody")).status_code for _ in range(5)]
        assert during == [404] * 4 + [429] + [404] * 4 + [429]
        assert limiter_log.count("Redis does not answer") == 2
        ready = (await first.get("/api/health/ready")).json()
        assert ready["checks"]["ratelimit:storage"][0]["status"] == "warn"

        redis_server.start()
        await asyncio.sleep(0.15)
        # Back on Redis (which restarted empty): one count for both again.
        assert [(await http.get("/api/v1/users/nobody")).status_code
                for http in (second, first, second, first, first)] == [404] * 4 + [429]
        assert limiter_log.count("shared through Redis again") == 2
        ready = (await first.get("/api/health/ready")).json()
        assert ready["checks"]["ratelimit:storage"][0]["status"] == "pass"


async def test_a_blocked_event_loop_is_not_a_redis_outage(limited, redis_server, limiter_log):
    first, second = [await limited(redis_url=redis_server.url) for _ in range(2)]
    await _sharing([first, second])
    limiter_log.messages.clear()
    limiter = first.app.state.rate_limiter

    async def block_the_loop() -> None:
        await asyncio.sleep(0)  # once the counts have been sent
        time.sleep(4 * limiter_module.REDIS_TIMEOUT_SECONDS)  # as bursts of password checks did

    *quotas, _ = await asyncio.gather(*(limiter.hit("auth", "ip:203.0.113.9") for _ in range(10)),
                                      block_the_loop())
    assert [quota.allowed for quota in quotas].count(True) == 5
    assert limiter.shared and limiter_log.count("Redis does not answer") == 0
    # Counted where the other process counts: the quota is spent there too.
    assert not (await second.app.state.rate_limiter.hit("auth", "ip:203.0.113.9")).allowed

    # A Redis that hangs while the loop is on time is still an outage, found within the timeout.
    redis_server.process.send_signal(signal.SIGSTOP)
    try:
        hung = time.monotonic()
        await limiter.hit("auth", "ip:203.0.113.10")
        waited = time.monotonic() - hung
        assert not limiter.shared and waited < 4 * limiter_module.REDIS_TIMEOUT_SECONDS
        assert limiter_log.count("Redis does not answer") == 1
    finally:
        redis_server.process.send_signal(signal.SIGCONT)


async def test_while_redis_is_down_the_processes_share_the_security_quotas(limited, redis_server,
                                                                          monkeypatch):
    monkeypatch.setattr(limiter_module, "REDIS_RETRY_SECONDS", 60)  # no reconnection meanwhile
    # Two applications stand for the two worker processes of the deployment.
    servers = [await limited(redis_url=redis_server.url, ratelimit_processes=2)
               for _ in range(2)]
    await _sharing(servers)
    async with servers[0].client("203.0.113.2") as setup:
        await factories.user(setup, "lead")
    redis_server.stop()
    wrong = {"username": "lead", "password": "not the password"}
    failed_logins, registrations = [], []
    for number, server in enumerate(servers):
        async with server.client(ADDRESS) as http:
            failed_logins += [(await http.post(LOGIN, json=wrong)).status_code for _ in range(5)]
            registrations += [(await http.post(REGISTER, json={
                "username": f"new{number}{n}", "email": f"new{number}{n}@example.org",
                "password": factories.PASSWORD})).status_code for n in range(3)]
    # 5 // 2 failed logins and 3 // 2 registrations per process: 4 and 2, under the quotas.
    assert failed_logins.count(401) == 4 and set(failed_logins) == {401, 429}
    assert registrations.count(201) == 2 and set(registrations) == {201, 429}
    # Other policies keep the whole quota in each process: availability over exactness.
    async with servers[0].client("203.0.113.3") as http:
        assert remaining(await http.get("/api/v1/users/nobody"))["api"] == 99


async def test_a_process_whose_share_is_nothing_refuses_while_redis_is_down(limited,
                                                                           redis_server):
    server = await limited(redis_url=redis_server.url, ratelimit_processes=4)
    await _sharing([server])
    redis_server.stop()
    async with server.client(ADDRESS) as http:
        refused = await http.post(REGISTER, json={"username": "late", "email": "late@example.org",
                                                  "password": factories.PASSWORD})
    # 3 registrations an hour among four processes: none may admit one alone.
    assert refused.status_code == 429 and refused.json()["policy"] == "registration"
    assert '"registration";q=0;w=3600' in refused.headers["ratelimit-policy"]
    assert int(refused.headers["retry-after"]) >= 1
