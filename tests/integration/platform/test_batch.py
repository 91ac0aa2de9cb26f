"""POST /api/v1/batch: sub-requests run in order through the whole application, each a request of
its own (authentication, CSRF, request id, transaction)."""

import asyncio
import json

import httpx
from starlette.responses import PlainTextResponse, StreamingResponse
from tests import factories

from lifeceo.app import create_app
from lifeceo.platform.batch.schemas import SubRequest
from lifeceo.platform.batch.service import batch_service
from lifeceo.platform.observability.logging import configure_logging
from lifeceo.settings import Settings

BATCH = "/api/v1/batch"


def _sub(method: str, path: str, body=..., **headers: str) -> dict:
    request = {"method": method, "path": path}
    if body is not ...:
        request["body"] = body
    if headers:
        request["headers"] = headers
    return request


async def _batch(client, *requests: dict, headers=None) -> list[dict]:
    response = await client.post(BATCH, json={"requests": list(requests)}, headers=headers or {})
    assert response.status_code == 200, response.text
    responses = response.json()["responses"]
    assert len(responses) == len(requests)
    return responses


async def test_later_sub_requests_see_earlier_writes(client):
    ana = await factories.user(client, "ana")
    register, login, post, like, read, profile = await _batch(
        client,
        _sub("POST", "/api/v1/auth/register",
             {"username": "bob", "email": "bob@example.org", "password": factories.PASSWORD}),
        _sub("POST", "/api/v1/auth/login", {"username": "bob", "password": factories.PASSWORD}),
        _sub("POST", "/api/v1/posts", {"body": "written in a batch"}),
        # Tables are emptied with RESTART IDENTITY: the post just written is post 1.
        _sub("POST", "/api/v1/posts/1/like"),
        _sub("GET", "/api/v1/posts/1"),
        _sub("GET", "/api/v1/users/bob"),
        headers=ana,
    )
    assert [r["status"] for r in (register, login, post, like, read, profile)] == [
        201, 200, 201, 200, 200, 200]
    assert register["body"]["username"] == "bob"
    assert login["body"]["user"]["username"] == "bob" and login["body"]["token"]
    assert post["body"]["author"]["username"] == "ana"
    assert like["body"] == {"liked": True, "like_count": 1}
    assert read["body"]["like_count"] == 1 and read["body"]["liked_by_me"] is True
    assert read["headers"]["content-type"] == "application/json"
    # The session cookie is httponly: it is not handed to script inside a JSON body.
    assert "set-cookie" not in login["headers"]
    assert (await client.get("/api/v1/posts/1")).json()["like_count"] == 1


async def test_each_sub_request_has_its_own_status_and_transaction(client):
    ana = await factories.user(client, "ana")
    created, missing, invalid, still_there, deleted = await _batch(
        client,
        _sub("POST", "/api/v1/posts", {"body": "kept"}),
        _sub("GET", "/api/v1/posts/999"),
        _sub("POST", "/api/v1/posts", {"body": ""}),
        _sub("GET", "/api/v1/feed/public?limit=5"),
        _sub("DELETE", "/api/v1/posts/999"),
        headers=ana,
    )
    assert created["status"] == 201
    assert missing["status"] == 404
    assert missing["headers"]["content-type"] == "application/problem+json"
    assert missing["body"]["status"] == 404
    assert invalid["status"] == 422 and invalid["body"]["errors"]
    # The failures after it did not undo the first write, nor stop the reads after them.
    assert still_there["status"] == 200
    assert [item["body"] for item in still_there["body"]["items"]] == ["kept"]
    assert deleted["status"] == 404


async def test_an_empty_sub_response_body_is_null(client):
    ana = await factories.user(client, "ana")
    created, removed = await _batch(
        client, _sub("POST", "/api/v1/posts", {"body": "short-lived"}),
        _sub("DELETE", "/api/v1/posts/1"), headers=ana)
    assert (created["status"], removed["status"], removed["body"]) == (201, 204, None)
    assert (await client.get("/api/v1/posts/1")).status_code == 404


async def test_authentication_applies_to_each_sub_request(client):
    ana = await factories.user(client, "ana")
    anonymous_post, anonymous_me, own_token_me = await _batch(
        client,
        _sub("POST", "/api/v1/posts", {"body": "who am I"}),
        _sub("GET", "/api/v1/me"),
        _sub("GET", "/api/v1/me", Authorization=ana["Authorization"]),
    )
    assert anonymous_post["status"] == anonymous_me["status"] == 401
    assert own_token_me["status"] == 200 and own_token_me["body"]["username"] == "ana"

    inherited, dropped = await _batch(
        client, _sub("GET", "/api/v1/me"), _sub("GET", "/api/v1/me", Authorization=""),
        headers=ana)
    assert inherited["body"]["username"] == "ana"
    assert dropped["status"] == 401
    assert (await client.get("/api/v1/feed/public")).json()["items"] == []


async def test_rate_limits_count_each_sub_request(database_url):
    limited = create_app(Settings(ratelimit_enabled=True, ratelimit_api="4/minute"))
    async with limited.router.lifespan_context(limited):
        transport = httpx.ASGITransport(app=limited)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            responses = await _batch(client, *[_sub("GET", "/api/v1/feed/public")] * 5)
    # The batch request is one API request, and each sub-request one more.
    assert [sub["status"] for sub in responses] == [200, 200, 200, 429, 429]
    assert responses[3]["headers"]["content-type"] == "application/problem+json"


async def test_cookie_sessions_need_the_csrf_token_in_sub_requests_too(client):
    await factories.user(client, "ana")
    login = await client.post("/api/v1/auth/login",
                              json={"username": "ana", "password": factories.PASSWORD})
    cookies = {"Cookie": f"lifeceo_session={login.json()['token']}"}
    forged = await client.post(BATCH, headers=cookies, json={"requests": [
        _sub("POST", "/api/v1/posts", {"body": "forged"})]})
    # Refused by the batch request itself (the API-wide rate limit resolves the viewer, CSRF
    # check included) or else by the sub-request: either way nothing is written.
    refused = (forged.status_code if forged.status_code != 200
               else forged.json()["responses"][0]["status"])
    assert refused == 403
    assert (await client.get("/api/v1/feed/public")).json()["items"] == []
    csrf = {**cookies, "X-CSRF-Token": login.json()["csrf_token"]}
    genuine, = await _batch(client, _sub("POST", "/api/v1/posts", {"body": "genuine"}),
                            headers=csrf)
    assert genuine["status"] == 201


async def test_each_sub_response_has_its_own_request_id_derived_from_the_batch(client):
    response = await client.post(BATCH, headers={"X-Request-ID": "screen-load-7"}, json={
        "requests": [_sub("GET", "/api/v1/feed/public"), _sub("GET", "/api/v1/users/nobody")]})
    assert response.headers["x-request-id"] == "screen-load-7"
    ids = [sub["headers"]["x-request-id"] for sub in response.json()["responses"]]
    assert ids == ["screen-load-7-1", "screen-load-7-2"]

    generated = await client.post(BATCH, json={"requests": [_sub("GET", "/api/v1/feed/public")]})
    sub_id = generated.json()["responses"][0]["headers"]["x-request-id"]
    assert sub_id == f"{generated.headers['x-request-id']}-1"


async def test_log_lines_of_sub_requests_and_of_the_batch_keep_their_own_ids(client, capfd):
    configure_logging(log_format="json")
    try:
        await _batch(client, _sub("GET", "/api/v1/feed/public"), _sub("GET", "/api/v1/me"),
                     headers={"X-Request-ID": "parent"})
    finally:
        configure_logging(log_format="console")
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines()
             if line.startswith("{")]
    access = {line["request_id"]: (line["path"], line["status"]) for line in lines
              if line.get("event") == "request"}
    assert access == {"parent-1": ("/api/v1/feed/public", 200), "parent-2": ("/api/v1/me", 401),
                      "parent": (BATCH, 200)}


async def test_batch_size_is_1_to_20(client):
    twenty = await _batch(client, *[_sub("GET", "/api/v1/feed/public")] * 20)
    assert {sub["status"] for sub in twenty} == {200}
    for count in (0, 21):
        response = await client.post(BATCH, json={
            "requests": [_sub("GET", "/api/v1/feed/public")] * count})
        assert response.status_code == 422, count
        assert response.headers["content-type"] == "application/problem+json"


async def _rejected_before_anything_ran(client, headers, bad: dict) -> None:
    response = await client.post(BATCH, headers=headers, json={"requests": [
        _sub("POST", "/api/v1/posts", {"body": "must not be written"}), bad]})
    assert response.status_code == 422, bad
    assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get("/api/v1/feed/public")).json()["items"] == [], bad


async def test_a_batch_inside_a_batch_is_rejected(client):
    ana = await factories.user(client, "ana")
    inner = {"requests": [_sub("GET", "/api/v1/feed/public")]}
    for path in ("/api/v1/batch", "/api/v1/batch/", "/api/v1/%62atch", "/api/v1/batch?x=1"):
        await _rejected_before_anything_ran(client, ana, _sub("POST", path, inner))


async def test_only_paths_of_this_api_are_accepted(client):
    ana = await factories.user(client, "ana")
    for path in ("/api/v2/posts", "/api/health", "api/v1/me", "http://testserver/api/v1/me",
                 "//evil.example/api/v1/me", "/api/v1/../health", "/api/v1/posts/%2e%2e/me",
                 "/api/v1//me", "/api/v1/./me", "/api/v1/me#top", "/api/v1/ me", "/api/v1/me\n",
                 "/api/v1\\me", "", "/api/v1/" + "x" * 3000):
        await _rejected_before_anything_ran(client, ana, _sub("GET", path))


async def test_malformed_batches_are_4xx_problems(client):
    not_json = await client.post(BATCH, content=b"{not json",
                                 headers={"content-type": "application/json"})
    assert not_json.status_code == 400
    assert not_json.headers["content-type"] == "application/problem+json"
    ana = await factories.user(client, "ana")
    for bad in (
        _sub("HEAD", "/api/v1/me"),
        _sub("get", "/api/v1/me"),
        {"method": "GET"},
        {"method": "GET", "path": "/api/v1/me", "extra": 1},
        {"method": "GET", "path": 17},
        _sub("GET", "/api/v1/me", **{"X-Forwarded-For": "10.0.0.1"}),
        _sub("GET", "/api/v1/me", **{"Content-Length": "5"}),
        _sub("GET", "/api/v1/me", **{"X-Request-ID": "mine"}),
        _sub("GET", "/api/v1/me", **{"Accept-Encoding": "gzip"}),
        _sub("GET", "/api/v1/me", **{"X-Note": "line\r\nX-Injected: 1"}),
        _sub("GET", "/api/v1/me", **{"bad name": "x"}),
        _sub("GET", "/api/v1/me", **{"X-Long": "x" * 5000}),
        _sub("GET", "/api/v1/me", **{f"X-H{i}": "x" for i in range(21)}),
        {"method": "GET", "path": "/api/v1/me", "headers": {"X-Number": 1}},
    ):
        await _rejected_before_anything_ran(client, ana, bad)
    for body in ({}, {"requests": "all"}, {"requests": [1]}, [], {"requests": [], "more": 1}):
        assert (await client.post(BATCH, json=body)).status_code == 422, body


async def test_a_sub_request_that_crashes_is_a_500_and_the_batch_goes_on():
    async def app(scope, receive, send):
        if scope["path"].endswith("crash"):
            raise RuntimeError("a bug")
        await PlainTextResponse("fine")(scope, receive, send)

    crashed, fine = await batch_service.run(app=app, parent=_scope("/api/v1/batch"), requests=[
        SubRequest(method="GET", path="/api/v1/crash"),
        SubRequest(method="GET", path="/api/v1/fine")])
    assert crashed.status == 500
    assert crashed.headers["content-type"] == "application/problem+json"
    assert (fine.status, fine.body) == (200, "fine")


async def test_streamed_and_text_sub_responses_are_collected_whole():
    async def chunks():
        for part in (b"one ", b"two ", b"three"):
            await asyncio.sleep(0)
            yield part

    async def app(scope, receive, send):
        if scope["path"].endswith("stream"):
            # An ASGI 2.0 scope: the response also watches receive() for a disconnect.
            await StreamingResponse(chunks(), media_type="text/plain")(scope, receive, send)
            return
        response = PlainTextResponse("plain", headers={"x-a": "1"})
        response.raw_headers += [(b"x-a", b"2"), (b"set-cookie", b"secret=1")]
        await response(scope, receive, send)

    streamed, plain = await batch_service.run(app=app, parent=_scope("/api/v1/batch"), requests=[
        SubRequest(method="GET", path="/api/v1/stream"),
        SubRequest(method="GET", path="/api/v1/plain")])
    assert (streamed.status, streamed.body) == (200, "one two three")
    assert plain.body == "plain"
    assert plain.headers["x-a"] == "1, 2" and "set-cookie" not in plain.headers


def _scope(path: str) -> dict:
    return {"type": "http", "asgi": {"version": "3.0"}, "method": "POST", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
            "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 1),
            "server": ("testserver", 80)}
