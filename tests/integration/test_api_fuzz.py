"""Schemathesis generates requests from our own OpenAPI document: none may end in a 5xx."""

import socket
import threading
import time

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode
from tests import factories


@pytest.fixture(scope="module")
def live_url(database_url: str):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config("lifeceo.app:create_app", factory=True, host="127.0.0.1", port=port,
                            log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def auth_headers(live_url: str) -> dict[str, str]:
    with httpx.Client(base_url=live_url) as client:
        client.post("/api/v1/auth/register", json={
            "username": "fuzzer", "email": "fuzzer@example.org", "password": factories.PASSWORD})
        login = client.post("/api/v1/auth/login",
                            json={"username": "fuzzer", "password": factories.PASSWORD})
        assert login.status_code == 200, login.text
        token = login.json()["token"]
        # Something for the generated ids to find.
        headers = {"Authorization": f"Bearer {token}"}
        client.post("/api/v1/posts", headers=headers, json={"body": "fuzz target"})
    return headers


def operations(live_url: str):
    schema = schemathesis.openapi.from_url(f"{live_url}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


def server_errors(live_url: str, operations_, headers: dict[str, str], mode: GenerationMode,
                  max_examples: int) -> list[str]:
    """A curl command for every generated request to `operations_` that ended in a 5xx."""
    failures = []
    for operation in operations_:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=max_examples, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def call(case):
            response = case.call(base_url=live_url, headers=headers)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                f"{case.as_curl_command()}")

        try:
            call()
        except Unsatisfiable:
            pass  # nothing of this operation can be made invalid in this mode
    return failures


# Logging out would revoke the token the other cases use; a live stream never ends by itself
# (test_notifications_stream.py covers it).
SKIPPED = frozenset({"/api/v1/auth/logout", "/api/v1/notifications/stream"})


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_request_is_a_server_error(live_url, auth_headers, mode):
    chosen = [operation for operation in operations(live_url) if operation.path not in SKIPPED]
    failures = server_errors(live_url, chosen, auth_headers, mode, max_examples=15)
    assert failures == [], "\n".join(failures)
