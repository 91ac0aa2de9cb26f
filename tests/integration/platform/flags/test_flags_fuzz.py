"""Schemathesis against the flag endpoints, as an administrator: no generated request may end in a
5xx, whatever it changes."""

import httpx
import psycopg
import pytest
from schemathesis.generation import GenerationMode
from sqlalchemy.engine import make_url
from tests import factories
from tests.integration.test_api_fuzz import (  # noqa: F401  (live_url: a fixture)
    live_url,
    operations,
    server_errors,
)


@pytest.fixture(scope="module")
def admin_headers(live_url: str, database_url: str) -> dict[str, str]:  # noqa: F811
    with httpx.Client(base_url=live_url) as client:
        client.post("/api/v1/auth/register", json={
            "username": "flagfuzzer", "email": "flagfuzzer@example.org",
            "password": factories.PASSWORD})
        login = client.post("/api/v1/auth/login",
                            json={"username": "flagfuzzer", "password": factories.PASSWORD})
        assert login.status_code == 200, login.text
    url = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("UPDATE users SET is_admin = true WHERE username = 'flagfuzzer'")
    return {"Authorization": f"Bearer {login.json()['token']}"}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_flag_request_is_a_server_error(live_url, admin_headers, mode):  # noqa: F811
    flag_operations = [operation for operation in operations(live_url)
                       if "flag" in operation.path]
    assert len(flag_operations) == 7
    failures = server_errors(live_url, flag_operations, admin_headers, mode, max_examples=40)
    assert failures == [], "\n".join(failures)
