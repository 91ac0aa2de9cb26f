"""Browser timing beacons: validated and bounded at the door, written by the performance-metrics
queue, summarised per page in percentiles for administrators."""

import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
from sqlalchemy import select, update
from tests import factories

from lifeceo.app import create_app
from lifeceo.community.analytics.models import RumSample
from lifeceo.community.analytics.schemas import page_path
from lifeceo.community.analytics.tasks import record_rum
from lifeceo.community.users.models import User
from lifeceo.platform.queue import JobContext
from lifeceo.settings import Settings

RUM = "/api/v1/rum"
PERFORMANCE = "/api/v1/admin/analytics/performance"
BEACON = {"url": "https://lifeceo.example/posts/123?ref=feed#c5", "lcp_ms": 1834.6,
          "inp_ms": 96, "cls": 0.042, "ttfb_ms": 210.2, "load_ms": 2500}


@pytest.fixture
def ctx(app) -> JobContext:
    return JobContext(settings=app.state.settings, sessionmaker=app.state.sessionmaker,
                      cache=app.state.cache, engine=app.state.engine)


async def samples(session) -> list[RumSample]:
    rows = list(await session.scalars(select(RumSample).order_by(RumSample.received_at)))
    await session.commit()
    return rows


async def record(ctx, path: str, *, received_at: datetime | None = None, **metrics) -> None:
    values = dict.fromkeys(("lcp_ms", "inp_ms", "cls", "ttfb_ms", "load_ms")) | metrics
    await record_rum(ctx, sample_id=str(uuid.uuid4()), url=path,
                     received_at=(received_at or datetime.now(UTC)).isoformat(), **values)


async def test_a_beacon_is_accepted_as_json_or_as_sendbeacon_text(client, session):
    response = await client.post(RUM, json=BEACON)
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": True}
    beacon = await client.post(RUM, content=orjson.dumps({"url": "/feed", "load_ms": 900}),
                               headers={"content-type": "text/plain;charset=UTF-8"})
    assert beacon.status_code == 202, beacon.text

    first, second = await samples(session)
    assert (first.path, first.lcp_ms, first.inp_ms, first.cls, first.ttfb_ms, first.load_ms) == (
        "/posts/{id}", 1835, 96, 0.042, 210, 2500)
    assert (second.path, second.load_ms, second.lcp_ms) == ("/feed", 900, None)


async def test_a_beacon_with_a_session_cookie_needs_no_csrf_token(client):
    await factories.user(client, "ana")
    login = await client.post("/api/v1/auth/login",
                              json={"username": "ana", "password": factories.PASSWORD})
    assert login.status_code == 200
    assert "lifeceo_session" in client.cookies  # and sent with the beacon, as a browser would
    response = await client.post(RUM, json=BEACON)
    assert response.status_code == 202, response.text


async def test_recording_a_beacon_twice_keeps_one_sample(ctx, session):
    sample_id, at = str(uuid.uuid4()), datetime.now(UTC).isoformat()
    for _ in range(2):
        await record_rum(ctx, sample_id=sample_id, received_at=at, url="/", lcp_ms=1.0,
                         inp_ms=None, cls=None, ttfb_ms=None, load_ms=None)
    assert len(await samples(session)) == 1


@pytest.mark.parametrize(("url", "path"), [
    ("/", "/"),
    ("https://lifeceo.example", "/"),
    ("/users/ana/posts?cursor=abc", "/users/ana/posts"),
    ("/events/42/attendees#top", "/events/{id}/attendees"),
    ("?q=tango", "/"),
])
def test_the_page_is_the_path_with_ids_folded(url, path):
    assert page_path(url) == path


@pytest.mark.parametrize(("body", "field"), [
    ({**BEACON, "lcp_ms": -1}, "lcp_ms"),
    ({**BEACON, "inp_ms": 300_001}, "inp_ms"),
    ({**BEACON, "cls": 11}, "cls"),
    ({**BEACON, "ttfb_ms": "210"}, "ttfb_ms"),
    ({**BEACON, "load_ms": True}, "load_ms"),
    ({**BEACON, "url": "/" + "a" * 2048}, "url"),
    ({**BEACON, "url": "/" + "a" * 200}, "url"),
    ({**BEACON, "url": "javascript:alert(1)"}, "url"),
    ({**BEACON, "url": "/with space"}, "url"),
    ({**BEACON, "url": "/nul\u0000"}, "url"),
    ({**BEACON, "extra": 1}, "extra"),
    ({"lcp_ms": 1}, "url"),
    ({"url": "/feed"}, None),
])
async def test_an_invalid_beacon_is_a_422_naming_the_field(client, session, body, field):
    response = await client.post(RUM, content=orjson.dumps(body),
                                 headers={"content-type": "text/plain"})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    if field:
        assert ["body", field] in [error["loc"][:2] for error in response.json()["errors"]]
    assert await samples(session) == []


@pytest.mark.parametrize(("content", "content_type", "status"), [
    (b'{"url": "/", "lcp_ms": 1', "application/json", 400),
    (b"\xff\xfe", "text/plain", 400),
    (b"[]", "application/json", 422),
    (orjson.dumps(BEACON), "application/x-www-form-urlencoded", 415),
    (orjson.dumps(BEACON), None, 415),
    (orjson.dumps({**BEACON, "url": "/" + "a" * 5000}), "application/json", 413),
])
async def test_malformed_unsupported_or_oversized_beacons_are_4xx_problems(
        client, content, content_type, status):
    headers = {"content-type": content_type} if content_type else {}
    response = await client.post(RUM, content=content, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_beacons_are_rate_limited_per_address(app):
    async with AsyncExitStack() as stack:
        limited = create_app(Settings(ratelimit_enabled=True, ratelimit_rum="2/minute"))
        await stack.enter_async_context(limited.router.lifespan_context(limited))
        transport = httpx.ASGITransport(app=limited, client=("203.0.113.9", 40000))
        http = await stack.enter_async_context(
            httpx.AsyncClient(transport=transport, base_url="http://testserver"))
        statuses = [(await http.post(RUM, json=BEACON)).status_code for _ in range(3)]
        assert statuses == [202, 202, 429]
        refused = await http.post(RUM, json=BEACON)
        assert refused.headers["content-type"] == "application/problem+json"
        assert "retry-after" in refused.headers


async def test_percentiles_per_page_and_metric_for_administrators(client, session, ctx):
    for value in range(1, 101):
        await record(ctx, "/feed", lcp_ms=value, cls=value / 100)
    for value in range(1, 4):
        await record(ctx, "/events", lcp_ms=value)
    # Outside the window asked for.
    await record(ctx, "/feed", lcp_ms=100_000, received_at=datetime.now(UTC) - timedelta(hours=3))

    assert (await client.get(PERFORMANCE)).status_code == 401
    member = await factories.user(client, "member")
    assert (await client.get(PERFORMANCE, headers=member)).status_code == 403
    boss = await factories.user(client, "boss")
    await session.execute(update(User).where(User.username == "boss").values(is_admin=True))
    await session.commit()

    response = await client.get(PERFORMANCE, headers=boss,
                                params={"hours": 2, "min_samples": 50})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["min_samples"] == 50
    feed, events = report["pages"]
    assert (feed["path"], feed["samples"], events["path"], events["samples"]) == (
        "/feed", 100, "/events", 3)
    # percentile_cont interpolates: p50 of 1..100 is 50.5.
    assert feed["lcp_ms"] == {"samples": 100, "p50": 50.5, "p75": 75.25, "p95": 95.05}
    assert feed["cls"] == {"samples": 100, "p50": 0.505, "p75": 0.752, "p95": 0.95}
    assert feed["inp_ms"] == {"samples": 0, "p50": None, "p75": None, "p95": None}
    # Three samples are fewer than asked for: counted, not summarised.
    assert events["lcp_ms"] == {"samples": 3, "p50": None, "p75": None, "p95": None}

    wider = (await client.get(PERFORMANCE, headers=boss,
                              params={"hours": 4, "min_samples": 1})).json()
    assert wider["pages"][0]["samples"] == 101
    assert wider["pages"][1]["lcp_ms"]["p50"] == 2
    for params in ({"hours": 0}, {"hours": 745}, {"min_samples": 0}):
        assert (await client.get(PERFORMANCE, headers=boss, params=params)).status_code == 422
