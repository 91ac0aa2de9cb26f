"""deploy/prometheus and deploy/grafana: promtool checks the configuration, the rules and their
unit tests, and every metric the dashboard and the rules name is in a live /api/metrics."""

import asyncio
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from lifeceo.app import create_app
from lifeceo.settings import Settings

DEPLOY = Path(__file__).resolve().parents[4] / "deploy"
PROMETHEUS = DEPLOY / "prometheus"
DASHBOARD = DEPLOY / "grafana" / "lifeceo.json"
PROMTOOL = shutil.which("promtool")
# CI installs it (.ci/run); there a missing promtool fails instead of skipping.
NO_PROMTOOL = PROMTOOL is None and os.environ.get("LIFECEO_TEST_REQUIRE_SERVICES") != "1"
# Metric names, not recording rules (`lifeceo:...`) or label values.
METRIC = re.compile(r"\blifeceo_[a-z0-9_]+\b")
PASSWORD = "milonga-password"
needs_promtool = pytest.mark.skipif(NO_PROMTOOL, reason="promtool not installed")


def promtool(*args: str) -> None:
    done = subprocess.run([PROMTOOL, *args], cwd=PROMETHEUS, capture_output=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()


@needs_promtool
def test_promtool_checks_the_config_and_rules():
    promtool("check", "config", "prometheus.yml")
    promtool("check", "rules", *sorted(str(p.relative_to(PROMETHEUS))
                                       for p in PROMETHEUS.glob("rules/*.yml")))


@needs_promtool
def test_every_rule_has_a_promtool_test_and_they_pass():
    tests = sorted(str(p.relative_to(PROMETHEUS)) for p in PROMETHEUS.glob("tests/*.yml"))
    promtool("test", "rules", *tests)
    tested = "\n".join((PROMETHEUS / test).read_text() for test in tests)
    for rule_file in PROMETHEUS.glob("rules/*.yml"):
        for name in re.findall(r"^\s*- (?:record|alert): (\S+)", rule_file.read_text(), re.MULTILINE):
            assert name in tested, f"{name} ({rule_file.name}) has no promtool test"


def referenced_metrics() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    expressions += [variable["definition"] for variable in dashboard["templating"]["list"]
                    if "definition" in variable]
    rules = "\n".join(path.read_text() for path in PROMETHEUS.glob("rules/*.yml"))
    return set(METRIC.findall("\n".join(expressions) + "\n" + rules))


async def test_every_referenced_metric_is_in_the_live_output(app, redis_server):
    # Redis, rate limits and a job: every family has samples, as in production.
    application = create_app(Settings(redis_url=redis_server.url, ratelimit_enabled=True))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            registered = await http.post("/api/v1/auth/register", json={
                "username": "dash", "email": "dash@example.org", "password": PASSWORD})
            assert registered.status_code == 201, registered.text
            for _ in range(2):
                assert (await http.get("/api/v1/feed/public")).status_code == 200
            await asyncio.sleep(0.6)  # one event-loop lag sample
            response = await http.get("/api/metrics")
    assert response.status_code == 200
    live = {sample.name for family in text_string_to_metric_families(response.text)
            for sample in family.samples}
    referenced = referenced_metrics()
    assert len(referenced) >= 20
    assert sorted(referenced - live) == []
