"""GET /api/v1/admin/metrics/series: administrators only, bad input is a problem+json 422, and
the table read follows the range and the step."""

from datetime import UTC, datetime, timedelta

import pytest
from tests.factories import user

from lifeceo.platform.observability import history_repository as repository
from lifeceo.platform.observability.history_aggregate import Point

SERIES = "/api/v1/admin/metrics/series"
NOW = datetime.now(UTC).replace(second=0, microsecond=0)


@pytest.fixture
async def seeded(session) -> None:
    """Raw samples for 10 minutes, minute rollups for 2 hours, hour rollups for 3 days."""
    for i in range(60):
        ts = NOW - timedelta(seconds=10 * (60 - i))
        await repository.write_points(session, ts=ts, points=[
            Point("http_latency_p95_seconds", "feed", 0.1 + i / 1000, 20),
            Point("http_latency_p95_seconds", "posts", 0.05, 3)])
    rollups = []
    for resolution, count in ((60, 120), (3600, 72)):
        for i in range(count):
            ts = NOW.replace(minute=0 if resolution == 3600 else NOW.minute) - timedelta(
                seconds=resolution * (count - i))
            rollups.append({"resolution_seconds": resolution, "name": "http_latency_p95_seconds",
                            "label": "feed", "ts": ts, "value": float(resolution), "max": 9.0,
                            "samples": 100})
    await repository.write_rollups(session, rollups)
    await session.commit()


def iso(moment: datetime) -> str:
    return moment.isoformat()


async def test_only_administrators_read_the_history(client):
    params = {"name": "http_error_ratio"}
    assert (await client.get(SERIES, params=params)).status_code == 401
    member = await user(client, "metrics_member")
    response = await client.get(SERIES, params=params, headers=member)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("params", [
    {},
    {"name": "http_latency_p97_seconds"},
    {"name": "http_error_ratio", "from": iso(NOW), "to": iso(NOW - timedelta(hours=1))},
    {"name": "http_error_ratio", "from": iso(NOW), "to": iso(NOW)},
    {"name": "http_error_ratio", "from": "yesterday"},
    {"name": "http_error_ratio", "step": "0"},
    {"name": "http_error_ratio", "step": "ten"},
    {"name": "http_error_ratio", "label": ""},
    # 3 days at 10 s (raw is kept 48 h, so minutes at best): 4,320 points.
    {"name": "http_error_ratio", "from": iso(NOW - timedelta(days=3)), "to": iso(NOW),
     "step": "10"},
    {"name": "http_error_ratio", "to": "0001-01-01T00:00:00Z"},
    {"name": "http_error_ratio", "from": "0001-01-01T00:00:00Z", "to": "9999-12-31T23:59:59Z"},
    # A day at 10 s: 8,640 points.
    {"name": "http_error_ratio", "from": iso(NOW - timedelta(days=1)), "to": iso(NOW),
     "step": "10"},
])
async def test_bad_input_is_a_422_problem(client, admin, params):
    response = await client.get(SERIES, params=params, headers=admin)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_recent_range_reads_raw_samples(client, admin, seeded):
    response = await client.get(SERIES, headers=admin, params={
        "name": "http_latency_p95_seconds", "from": iso(NOW - timedelta(minutes=10)),
        "to": iso(NOW)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["resolution_seconds"], body["step_seconds"]) == (10, 10)
    assert body["kind"] == "percentile" and body["label_name"] == "route_class"
    series = {item["label"]: item["points"] for item in body["series"]}
    assert set(series) == {"feed", "posts"}
    assert len(series["feed"]) == 60
    assert series["feed"][0]["value"] == pytest.approx(0.1)
    assert series["posts"][0]["samples"] == 3

    # One label; a step of a minute over raw data: means and maxima of six points.
    response = await client.get(SERIES, headers=admin, params={
        "name": "http_latency_p95_seconds", "label": "feed", "step": "30",
        "from": iso(NOW - timedelta(minutes=10)), "to": iso(NOW)})
    body = response.json()
    assert (body["resolution_seconds"], body["step_seconds"]) == (10, 30)
    [feed] = body["series"]
    assert feed["label"] == "feed"
    assert len(feed["points"]) == 20
    assert feed["points"][0]["value"] == pytest.approx(0.101)
    assert feed["points"][0]["max"] == pytest.approx(0.102)
    assert feed["points"][0]["samples"] == 60


async def test_step_and_range_choose_the_rollups(client, admin, seeded):
    params = {"name": "http_latency_p95_seconds", "label": "feed"}
    response = await client.get(SERIES, headers=admin, params={
        **params, "step": "60", "from": iso(NOW - timedelta(hours=2)), "to": iso(NOW)})
    body = response.json()
    assert body["resolution_seconds"] == 60
    [feed] = body["series"]
    assert len(feed["points"]) == 120
    assert {point["value"] for point in feed["points"]} == {60.0}

    # Three days, no step: raw samples are gone for most of it and minutes would be 4,320
    # points, so hours.
    response = await client.get(SERIES, headers=admin, params={
        **params, "from": iso(NOW - timedelta(days=3)), "to": iso(NOW)})
    body = response.json()
    assert (body["resolution_seconds"], body["step_seconds"]) == (3600, 3600)
    [feed] = body["series"]
    assert len(feed["points"]) == 72
    assert feed["points"][0]["max"] == 9.0

    # Nothing recorded: an empty list, not an error.
    response = await client.get(SERIES, headers=admin, params={"name": "queue_depth"})
    assert response.status_code == 200
    assert response.json()["series"] == []
