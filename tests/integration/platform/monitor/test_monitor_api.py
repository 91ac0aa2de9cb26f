"""The monitor over recorded history in the real application: error-ratio points of a route
class open an incident with its evidence (a log record of the window among it), re-detections
count on it, it resolves after the quiet period, forecasts are judged, only administrators read
any of it, and `lifeceo monitor` shows the same."""

import asyncio
import json
import logging
import math
import time
from datetime import UTC, datetime, timedelta

import pytest
import structlog
from sqlalchemy.dialects.postgresql import insert
from tests import factories
from typer.testing import CliRunner

from lifeceo import cli
from lifeceo.platform.monitor.leader import Monitor
from lifeceo.platform.observability.history_models import MetricsSample
from lifeceo.platform.observability.logs_models import LogRecordRow
from lifeceo.settings import get_settings

MONITOR = "/api/v1/admin/monitor"
MIB = 1024 * 1024


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def interval_now() -> datetime:
    return datetime.fromtimestamp(math.floor(time.time() / 10) * 10, UTC)


async def write_points(app, name: str, label: str, points: list[tuple[datetime, float, int]]):
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(insert(MetricsSample).values([
            {"name": name, "label": label, "ts": ts, "value": value, "samples": samples}
            for ts, value, samples in points]))


@pytest.fixture
async def monitors(app):
    made: list[Monitor] = []

    def make(clock: Clock, **overrides) -> Monitor:
        settings = app.state.settings.model_copy(update=overrides)
        made.append(Monitor(settings, app.state.engine, app.state.sessionmaker, clock=clock))
        return made[-1]

    yield make
    for monitor in made:
        await monitor.close()


async def test_an_error_burst_becomes_one_incident_with_evidence_then_resolves(
        app, client, admin, monitors):
    now = interval_now()
    # Five minutes of the feed failing 20 % of 50 requests per 10 s: far past 14.4 x 0.1 %.
    await write_points(app, "http_error_ratio", "feed", [
        (now - timedelta(seconds=10 * i), 0.2, 50) for i in range(30)])
    async with app.state.sessionmaker() as session, session.begin():
        session.add(LogRecordRow(
            time=now - timedelta(seconds=30), level="error", logger="lifeceo.feed",
            event="feed query failed", request_id="burst-1", trace_id=None, span_id=None,
            node="node-a", pid=4242, role="web", fields={"route": "/api/v1/feed"}))
    clock = Clock(now + timedelta(seconds=1))
    monitor = monitors(clock)

    first = await monitor.lead()
    assert monitor.is_leader
    assert [d.fingerprint for d in first.detections] == ["error_burst:feed"]
    assert len(first.opened) == 1
    # Measured: one evaluation of the six detectors over 30 points, on the test database.
    print(f"evaluation {first.seconds * 1000:.1f} ms (read {first.read_seconds * 1000:.1f}, "
          f"detectors {first.detect_seconds * 1000:.2f})")
    assert first.detect_seconds < 0.05
    clock.advance(15)
    second = await monitor.lead()
    assert second.opened == [] and len(second.detections) == 1

    member = await factories.user(client, "member")
    assert (await client.get(f"{MONITOR}/incidents")).status_code == 401
    for path in ("incidents", f"incidents/{first.opened[0]}", "detectors", "predictions",
                 "status"):
        assert (await client.get(f"{MONITOR}/{path}", headers=member)).status_code == 403

    listed = (await client.get(f"{MONITOR}/incidents", headers=admin)).json()
    [incident] = listed["items"]
    assert (incident["fingerprint"], incident["state"], incident["detections"]) == (
        "error_burst:feed", "open", 2)
    assert incident["severity"] == "critical"
    detail = (await client.get(f"{MONITOR}/incidents/{incident['id']}", headers=admin)).json()
    assert detail["evidence"]["detector"]["series"] == "http_error_ratio"
    assert len(detail["evidence"]["detector"]["points"]) == 30
    assert [r["event"] for r in detail["evidence"]["log_records"]] == ["feed query failed"]
    assert detail["evidence"]["log_records"][0]["request_id"] == "burst-1"
    assert "statements_since_reset" in detail["evidence"]
    assert [entry["kind"] for entry in detail["timeline"]] == ["detected"]

    detectors = {d["name"]: d for d in
                 (await client.get(f"{MONITOR}/detectors", headers=admin)).json()}
    assert detectors["error_burst"]["detections"][0]["fingerprint"] == "error_burst:feed"
    assert detectors["error_burst"]["leader"] == monitor.process
    assert detectors["slow_api_response"]["detections"] == []
    status = (await client.get(f"{MONITOR}/status", headers=admin)).json()
    assert status["leader"] == monitor.process
    assert status["incidents"] == {"open": 1, "mitigated": 0, "resolved": 0}

    # The short window holds no point after a minute: quiet; resolved 120 s after the last.
    clock.advance(100)
    assert (await monitor.lead()).resolved == []
    clock.advance(30)
    assert (await monitor.lead()).resolved == [incident["id"]]
    resolved = (await client.get(f"{MONITOR}/incidents", params={"state": "resolved"},
                                 headers=admin)).json()["items"]
    assert [each["id"] for each in resolved] == [incident["id"]]
    assert (await client.get(f"{MONITOR}/incidents", params={"state": "open"},
                             headers=admin)).json()["items"] == []
    detail = (await client.get(f"{MONITOR}/incidents/{incident['id']}", headers=admin)).json()
    assert [e["kind"] for e in detail["timeline"]] == ["detected", "state"]
    assert detail["timeline"][1]["detail"]["to"] == "resolved"
    assert (await client.get(f"{MONITOR}/incidents/999", headers=admin)).status_code == 404
    assert (await client.get(f"{MONITOR}/incidents", params={"state": "lost"},
                             headers=admin)).status_code == 422


async def test_a_memory_forecast_is_recorded_and_judged(app, client, admin, monitors):
    now = interval_now()
    # RSS of the largest worker rising 10 MiB per 10 s from 500 MiB, towards 1 GiB.
    await write_points(app, "process_rss_bytes", "max", [
        (now - timedelta(seconds=10 * (29 - i)), (500 + 10 * i) * MIB, 2) for i in range(30)])
    clock = Clock(now + timedelta(seconds=1))
    monitor = monitors(clock)
    outcome = await monitor.lead()
    assert [d.detector for d in outcome.detections] == ["memory_usage_high"]
    report = (await client.get(f"{MONITOR}/predictions", headers=admin)).json()
    [prediction] = report["items"]
    assert (prediction["outcome"], report["hit_rate"], report["pending"]) == ("pending", None, 1)
    assert prediction["incident_id"] == outcome.opened[0]
    assert 200 < prediction["seconds"] < 260
    made_at = datetime.fromisoformat(prediction["made_at"])

    # The limit is reached when it was forecast.
    reached = made_at + timedelta(seconds=prediction["seconds"])
    await write_points(app, "process_rss_bytes", "max", [(reached, 1025 * MIB, 2)])
    clock.now = reached + timedelta(seconds=5)
    await monitor.lead()
    report = (await client.get(f"{MONITOR}/predictions", headers=admin)).json()
    assert [p["outcome"] for p in report["items"]] == ["hit"]
    assert (report["judged"], report["hits"], report["hit_rate"]) == (1, 1, 1.0)
    detail = (await client.get(f"{MONITOR}/incidents/{prediction['incident_id']}",
                               headers=admin)).json()
    assert [e["kind"] for e in detail["timeline"]] == ["detected", "prediction", "prediction"]
    assert detail["timeline"][-1]["detail"]["outcome"] == "hit"
    assert detail["predictions"][0]["outcome"] == "hit"


def run_cli(*args: str, url: str):
    """`lifeceo` in-process on the test database; settings are re-read each time."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli.app, list(args), env={"LIFECEO_DATABASE_URL": url})
    finally:
        get_settings.cache_clear()
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        structlog.reset_defaults()


async def test_the_command_line_lists_incidents_and_the_status(app, database_url, monitors):
    now = interval_now()
    await write_points(app, "http_error_ratio", "events", [
        (now - timedelta(seconds=10 * i), 0.5, 40) for i in range(30)])
    monitor = monitors(Clock(now + timedelta(seconds=1)))
    [opened] = (await monitor.lead()).opened

    listed = await asyncio.to_thread(run_cli, "monitor", "incidents", "--state", "open",
                                     "--json", url=database_url)
    assert listed.exit_code == 0, listed.output
    [incident] = json.loads(listed.stdout)
    assert (incident["id"], incident["fingerprint"]) == (opened, "error_burst:events")
    resolved = await asyncio.to_thread(run_cli, "monitor", "incidents", "--state", "resolved",
                                       "--json", url=database_url)
    assert json.loads(resolved.stdout) == []
    wrong = await asyncio.to_thread(run_cli, "monitor", "incidents", "--state", "gone",
                                    url=database_url)
    assert wrong.exit_code == 1
    status = await asyncio.to_thread(run_cli, "monitor", "status", "--json", url=database_url)
    assert status.exit_code == 0, status.output
    found = json.loads(status.stdout)
    assert (found["leader"], found["incidents"]["open"], found["paused"]) == (
        monitor.process, 1, False)
    table = await asyncio.to_thread(run_cli, "monitor", "incidents", url=database_url)
    assert "error_burst" in table.stdout
