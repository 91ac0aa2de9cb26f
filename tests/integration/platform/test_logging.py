import json
import logging

import structlog
from tests import factories

from lifeceo.platform.observability.logging import configure_logging


async def test_json_lines_carry_request_id_and_never_secrets(client, capfd):
    configure_logging(log_format="json")
    try:
        headers = await factories.user(client, "logged")
        await client.get("/api/v1/me", headers={**headers, "X-Request-ID": "trace-me"})
        logging.getLogger("uvicorn.error").info("from the standard library")
    finally:
        configure_logging(log_format="console")
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("event") == "request"]
    assert any(line["request_id"] == "trace-me" and line["path"] == "/api/v1/me" for line in access)
    assert any(line["event"] == "from the standard library" for line in lines)
    text = json.dumps(lines)
    assert factories.PASSWORD not in text
    assert headers["Authorization"].split()[1] not in text


def test_secret_keys_are_redacted(capfd):
    configure_logging(log_format="json")
    try:
        structlog.get_logger("t").info("login", password="hunter2hunter2", token="abc")
    finally:
        configure_logging(log_format="console")
    line = json.loads(capfd.readouterr().err.strip().splitlines()[-1])
    assert line["password"] == "[redacted]" and line["token"] == "[redacted]"
