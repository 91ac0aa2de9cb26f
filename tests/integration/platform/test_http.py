"""Cross-cutting HTTP behaviour: request ids, body limits, problem+json for every error."""

import json

import httpx
from tests import factories

from lifeceo.app import create_app
from lifeceo.settings import get_settings


async def test_request_id_is_echoed_or_generated(client):
    given = await client.get("/api/health", headers={"X-Request-ID": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    generated = await client.get("/api/health")
    assert len(generated.headers["x-request-id"]) == 32
    # An id that could forge a log line is replaced, not echoed.
    hostile = await client.get("/api/health", headers={"X-Request-ID": "a b\tc" + "x" * 200})
    assert hostile.headers["x-request-id"] != "a b\tc" + "x" * 200


async def test_oversized_bodies_are_413_and_change_nothing(client):
    limit = get_settings().max_body_bytes
    body = json.dumps({"username": "big", "email": "big@example.org", "password": "x" * limit})
    response = await client.post("/api/v1/auth/register", content=body,
                                 headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["max_bytes"] == limit
    assert (await client.get("/api/v1/users/big")).status_code == 404


async def test_chunked_oversized_body_is_413(client):
    limit = get_settings().max_body_bytes

    async def chunks():
        for _ in range(limit // 1024 + 2):
            yield b" " * 1024

    response = await client.post("/api/v1/auth/register", content=chunks(),
                                 headers={"content-type": "application/json"})
    assert response.status_code == 413


async def test_unknown_routes_and_methods_are_problems(client):
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    wrong_method = await client.put("/api/v1/me")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["status"] == 405


async def test_wrong_content_type_and_types_are_4xx(client):
    headers = await factories.user(client, "typist")
    for content, content_type in ((b"username=a", "application/x-www-form-urlencoded"),
                                  (b"[]", "application/json"), (b"null", "application/json"),
                                  (b'{"city": 5}', "application/json")):
        response = await client.patch("/api/v1/me", content=content,
                                      headers={**headers, "content-type": content_type})
        assert 400 <= response.status_code < 500, (content, response.status_code)
        assert response.headers["content-type"] == "application/problem+json"
    assert (await client.get("/api/v1/me", headers=headers)).json()["city"] == ""


async def test_openapi_and_docs_are_served(client):
    spec = (await client.get("/openapi.json")).json()
    assert "/api/v1/auth/register" in spec["paths"]
    assert (await client.get("/docs")).status_code == 200


async def test_an_exhausted_database_pool_is_a_503_to_retry(database_url):
    settings = get_settings().model_copy(update={
        "database_pool_size": 1, "database_pool_overflow": 0,
        "database_pool_timeout_seconds": 0.2})
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with (httpx.AsyncClient(transport=transport, base_url="http://testserver") as http,
                    application.state.engine.connect()):  # the pool's only connection
            response = await http.get("/api/v1/users/nobody")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
