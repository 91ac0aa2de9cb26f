"""integration_method_mismatch on the real path: an exception that a route starts raising right
after a flag change is logged with its group, shipped to log_records, counted by the monitor's
evaluation, and opens one incident whose evidence names the group and the change; errors of a
group seen all along the hour before do not."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import insert
from tests.integration.platform.flags.flipping import flip
from tests.integration.platform.monitor.test_monitor_actions import incident, monitors  # noqa: F401
from tests.integration.platform.monitor.test_monitor_api import (
    Clock,
)
from tests.integration.platform.monitor.test_monitor_flag_rollback import (  # noqa: F401
    FLAG,
    platform_flags,
)

from lifeceo.app import create_app
from lifeceo.platform.observability.logs_models import LogRecordRow
from lifeceo.settings import Settings

THIS = __name__.removeprefix("lifeceo.")
GROUP = f"ChargeSignatureMismatch@{THIS}:charge"


class ChargeSignatureMismatch(TypeError):
    pass


async def charge():
    raise ChargeSignatureMismatch("charge() takes 2 positional arguments but 3 were given")


@pytest.fixture
async def broken(app):
    """The application with a route that fails as a client of a changed interface does."""
    application = create_app(Settings())
    application.add_api_route("/api/v1/test/charge", charge, methods=["POST"])
    async with application.router.lifespan_context(application):
        yield application


async def fail(application, times: int) -> None:
    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        for n in range(times):
            response = await http.post("/api/v1/test/charge",
                                       headers={"X-Request-ID": f"charge-{n}"})
            assert response.status_code == 500
    await application.state.log_shipper.flush()


async def test_a_new_error_group_after_a_flag_change_opens_an_incident_naming_both(
        broken, app, client, admin, monitors):  # noqa: F811
    await flip(client, admin, FLAG, rollout_percentage=10)
    await fail(broken, 12)
    outcome = await monitors(Clock(datetime.now(UTC) + timedelta(seconds=1))).lead()
    fingerprint = f"integration_method_mismatch:{GROUP}"
    assert fingerprint in {d.fingerprint for d in outcome.detections}
    found = await incident(app, fingerprint)
    detector = found.evidence["detector"]
    assert detector["new"] and detector["errors"] == 12
    assert detector["flag_change"]["key"] == FLAG
    # The shipped lines themselves, with their request ids, are in the evidence too.
    logged = [r for r in found.evidence["log_records"] if r["event"] == "unhandled error"]
    assert {r["request_id"] for r in logged} <= {f"charge-{n}" for n in range(12)}
    assert logged and logged[0]["fields"]["error_location"] == f"{THIS}:charge"


async def test_an_error_group_as_frequent_all_hour_is_not_an_incident(
        broken, app, monitors):  # noqa: F811
    # 12 a minute for the hour before, as the shipper would have written them.
    now = datetime.now(UTC)
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(insert(LogRecordRow).values([
            {"time": now - timedelta(minutes=minute, seconds=second), "level": "error",
             "logger": "t", "event": "unhandled error", "request_id": None, "trace_id": None,
             "span_id": None, "node": "n", "pid": 1, "role": "web",
             "fields": {"error_type": f"{__name__}.ChargeSignatureMismatch",
                        "error_location": f"{THIS}:charge"}}
            for minute in range(2, 60) for second in range(0, 60, 5)]))
    await fail(broken, 12)
    outcome = await monitors(Clock(datetime.now(UTC) + timedelta(seconds=1))).lead()
    assert not [d for d in outcome.detections if d.detector == "integration_method_mismatch"]
