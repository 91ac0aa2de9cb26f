"""GET /api/metrics on the suite's application (one process, the default registry): promtool
accepts it, the figures move with the traffic, and only allowed scrapers get it."""

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.waiting import eventually

from lifeceo.app import create_app
from lifeceo.platform.observability import metrics
from lifeceo.settings import Settings

PROMTOOL = shutil.which("promtool")
# CI installs it (.ci/run); there a missing promtool fails instead of skipping.
NO_PROMTOOL = PROMTOOL is None and os.environ.get("LIFECEO_TEST_REQUIRE_SERVICES") != "1"
PASSWORD = "milonga-password"


def check_metrics(text: str) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), check=False,
                          capture_output=True, timeout=60)


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


async def scrape(client: httpx.AsyncClient) -> str:
    response = await client.get("/api/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert response.headers["cache-control"] == "no-store"
    return response.text


@pytest.fixture
async def configured(app) -> AsyncIterator[Callable[..., Awaitable[httpx.AsyncClient]]]:
    """`await configured(address, **settings)`: a client at `address` of an application of its
    own, on the test database."""
    async with AsyncExitStack() as stack:

        async def start(address: str, **overrides) -> httpx.AsyncClient:
            application = create_app(Settings(**overrides))
            await stack.enter_async_context(application.router.lifespan_context(application))
            transport = httpx.ASGITransport(app=application, client=(address, 40000))
            return await stack.enter_async_context(
                httpx.AsyncClient(transport=transport, base_url="http://testserver"))

        yield start
    metrics.configure(enabled=True)  # an application built with metrics off switched them off


@pytest.mark.skipif(NO_PROMTOOL, reason="promtool not installed (apt-get install prometheus)")
async def test_promtool_accepts_the_output_of_a_working_app(client):
    await client.post("/api/v1/auth/register", json={
        "username": "ana", "email": "ana@example.org", "password": PASSWORD})
    await client.get("/api/v1/feed/public")
    await client.get("/api/v1/posts/999")
    text = await scrape(client)
    checked = await asyncio.to_thread(check_metrics, text)
    assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
    assert "lifeceo_http_requests_total" in text
    assert "lifeceo_build_info{" in text


async def test_request_counters_and_histograms_increase(client):
    before = await scrape(client)
    for _ in range(3):
        assert (await client.get("/api/health")).status_code == 200
    after = await scrape(client)
    labels = {"route": "/api/health", "method": "GET", "status": "2xx"}
    assert value(after, "lifeceo_http_requests_total", **labels) == \
        value(before, "lifeceo_http_requests_total", **labels) + 3
    assert value(after, "lifeceo_http_request_duration_seconds_count", **labels) == \
        value(before, "lifeceo_http_request_duration_seconds_count", **labels) + 3
    # The scrape itself was in flight while it rendered.
    assert value(after, "lifeceo_http_requests_in_flight") >= 1


async def test_route_templates_never_raw_paths_and_404s_add_no_series(client):
    await client.get("/api/v1/posts/424242")
    await client.get("/no/such/page-1")
    before = await scrape(client)
    series = {key for key in samples(before) if key[0] == "lifeceo_http_requests_total"}
    assert value(before, "lifeceo_http_requests_total", route="/api/v1/posts/{post_id}",
                 method="GET", status="4xx") >= 1
    # As path segments: the digits alone may turn up inside a _created timestamp.
    assert "/424242" not in before and "page-1" not in before
    unmatched = value(before, "lifeceo_http_requests_total", route="unmatched", method="GET",
                      status="4xx")
    for index in range(5):
        assert (await client.get(f"/scanner/probe-{index}.php")).status_code == 404
    after = await scrape(client)
    assert {key for key in samples(after) if key[0] == "lifeceo_http_requests_total"} == series
    assert value(after, "lifeceo_http_requests_total", route="unmatched", method="GET",
                 status="4xx") == unmatched + 5
    assert "probe-" not in after


async def test_database_pool_process_and_build_figures(client):
    before = await scrape(client)
    await client.get("/api/v1/feed/public")
    after = await scrape(client)
    assert value(after, "lifeceo_db_query_duration_seconds_count", kind="select") > \
        value(before, "lifeceo_db_query_duration_seconds_count", kind="select")
    assert value(after, "lifeceo_db_pool_size") > 0
    assert value(after, "lifeceo_db_pool_max_connections") >= value(after, "lifeceo_db_pool_size")
    assert value(after, "lifeceo_process_resident_memory_bytes") > 10_000_000
    assert value(after, "lifeceo_process_open_fds") > 0
    assert value(after, "lifeceo_process_cpu_seconds_total") > 0
    assert value(after, "lifeceo_python_gc_collections_total", generation="0") > 0
    build = [key for key in samples(after) if key[0] == "lifeceo_build_info"]
    python = ".".join(map(str, sys.version_info[:3]))
    assert len(build) == 1 and ("python", python) in build[0][1]


async def test_cache_counters_mirror_the_cache_stats(client, app):
    before = await scrape(client)

    async def compute():
        return {"answer": 42}

    for _ in range(3):
        await app.state.cache.get_or_compute("metricstest:one", compute, ttl=60)
    after = await scrape(client)
    hits = value(after, "lifeceo_cache_lookups_total", namespace="metricstest", result="hit") - \
        value(before, "lifeceo_cache_lookups_total", namespace="metricstest", result="hit")
    misses = value(after, "lifeceo_cache_lookups_total", namespace="metricstest", result="miss")\
        - value(before, "lifeceo_cache_lookups_total", namespace="metricstest", result="miss")
    assert (hits, misses) == (2, 1)
    assert value(after, "lifeceo_cache_hits_total", namespace="metricstest", tier="l1") >= 2
    # A second scrape without lookups adds nothing: the stats are mirrored, not re-added.
    again = await scrape(client)
    assert value(again, "lifeceo_cache_lookups_total", namespace="metricstest", result="hit") == \
        value(after, "lifeceo_cache_lookups_total", namespace="metricstest", result="hit")


async def test_queue_gauges_for_every_queue_and_job_durations(client):
    before = await scrape(client)
    # Registration enqueues the welcome email, run inline in the suite.
    registered = await client.post("/api/v1/auth/register", json={
        "username": "bob", "email": "bob@example.org", "password": PASSWORD})
    assert registered.status_code == 201, registered.text

    async def job_observed() -> bool:
        text = await scrape(client)
        return value(text, "lifeceo_job_duration_seconds_count", queue="email",
                     outcome="succeeded") > value(before, "lifeceo_job_duration_seconds_count",
                                                  queue="email", outcome="succeeded")

    await eventually(job_observed)
    text = await scrape(client)
    for queue in ("email", "image-processing", "analytics", "notifications", "data-sync",
                  "performance-metrics"):
        for name in ("lifeceo_queue_depth", "lifeceo_queue_running", "lifeceo_queue_dead",
                     "lifeceo_queue_oldest_waiting_seconds", "lifeceo_queue_failed_runs_recent"):
            assert (name, frozenset({("queue", queue)})) in samples(text), (name, queue)


async def test_event_loop_lag_is_sampled(client):
    async def sampled() -> bool:
        return value(await scrape(client), "lifeceo_event_loop_lag_seconds_count") > 0

    await eventually(sampled, timeout=10)


def slow_lags(text: str) -> float:
    return value(text, "lifeceo_event_loop_lag_seconds_count") - \
        value(text, "lifeceo_event_loop_lag_seconds_bucket", le="0.25")


async def test_a_blocked_loop_shows_as_lag(configured):
    http = await configured("127.0.0.1", metrics_lag_interval_seconds=0.05)
    before = slow_lags(await scrape(http))
    time.sleep(0.4)  # noqa: ASYNC251  (blocks the event loop, as a CPU-bound handler would)
    await asyncio.sleep(0.2)
    assert slow_lags(await scrape(http)) > before


async def test_rate_limit_decisions_by_policy(configured):
    http = await configured("203.0.113.7", ratelimit_enabled=True, ratelimit_api="2/minute",
                            metrics_allow_networks="203.0.113.0/24")
    before = await scrape(http)
    statuses = [(await http.get("/api/v1/feed/public")).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    after = await scrape(http)
    assert value(after, "lifeceo_rate_limit_decisions_total", policy="api", decision="allowed") \
        - value(before, "lifeceo_rate_limit_decisions_total", policy="api",
                decision="allowed") == 2
    assert value(after, "lifeceo_rate_limit_decisions_total", policy="api", decision="refused") \
        - value(before, "lifeceo_rate_limit_decisions_total", policy="api",
                decision="refused") == 1


async def test_outside_the_allowed_networks_without_the_token_is_403(configured):
    http = await configured("198.51.100.9", metrics_token="scrape-secret")
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "Basic x"}):
        denied = await http.get("/api/metrics", headers=headers)
        assert denied.status_code == 403
        assert denied.headers["content-type"] == "application/problem+json"
        assert denied.json()["status"] == 403
    allowed = await http.get("/api/metrics", headers={"authorization": "Bearer scrape-secret"})
    assert allowed.status_code == 200
    assert "lifeceo_http_requests_total" in allowed.text


async def test_allowed_networks_and_no_token_configured(configured):
    inside = await configured("10.1.2.3", metrics_allow_networks="10.0.0.0/8, 192.0.2.0/24")
    assert (await inside.get("/api/metrics")).status_code == 200
    loopback_only = await configured("10.1.2.3")
    assert (await loopback_only.get("/api/metrics")).status_code == 403
    # No token configured: a Bearer header proves nothing.
    assert (await loopback_only.get("/api/metrics",
                                    headers={"authorization": "Bearer "})).status_code == 403


async def test_sql_timing_with_profiles_off(configured):
    """The statement timer is shared with the request profiles; with those off it still times."""
    http = await configured("127.0.0.1", profiles_enabled=False)
    before = await scrape(http)
    assert (await http.get("/api/v1/feed/public")).status_code == 200
    after = await scrape(http)
    assert value(after, "lifeceo_db_query_duration_seconds_count", kind="select") > \
        value(before, "lifeceo_db_query_duration_seconds_count", kind="select")


async def test_metrics_switched_off(configured):
    http = await configured("127.0.0.1", metrics_enabled=False)
    assert (await http.get("/api/metrics")).status_code == 404
    assert (await http.get("/api/health")).status_code == 200
