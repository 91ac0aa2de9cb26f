"""/api/metrics of a real `lifeceo serve --workers 2` (multiprocess mode): the workers' and the
job worker's figures summed, and no counter going backwards when workers are killed."""

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.serving import Served, environment, ready, serving

pytestmark = pytest.mark.slow

PROMTOOL = shutil.which("promtool")
# Only this test asks for it, so its count is exactly the test's requests.
COUNTED = "/api/health/startup"
COUNTED_LABELS = {"route": COUNTED, "method": "GET", "status": "2xx"}


def scrape(server: Served) -> str:
    response = httpx.get(f"{server.url}/api/metrics")
    assert response.status_code == 200, response.text
    return response.text


def samples(text: str) -> list:
    return [sample for family in text_string_to_metric_families(text)
            for sample in family.samples]


def value(text: str, name: str, **labels: str) -> float:
    return sum(sample.value for sample in samples(text)
               if sample.name == name and sample.labels == labels)


def pids_of(text: str, name: str) -> set[int]:
    return {int(sample.labels["pid"]) for sample in samples(text) if sample.name == name}


@pytest.fixture(scope="module")
def served(database_url, tmp_path_factory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("metrics-serve")
    env = environment(drop=["PROMETHEUS_MULTIPROC_DIR"], database_url=database_url,
                      data_dir=str(directory / "data"),
                      # A job worker process of its own: its job durations reach the web
                      # workers' scrape.
                      jobs_inline="false", metrics_sample_interval_seconds="0.5")
    with serving(directory / "serve.log", env) as server:
        yield server


def count_requests(server: Served, n: int) -> None:
    for _ in range(n):
        # A connection each: the kernel spreads them over both workers' accept().
        assert httpx.get(f"{server.url}{COUNTED}").status_code == 200


def test_workers_are_summed_and_killed_workers_keep_their_counts(served):
    served.wait(lambda: len(served.workers()) == 2, "two workers")
    base = value(scrape(served), "lifeceo_http_requests_total", **COUNTED_LABELS)
    count_requests(served, 30)
    # Both workers publish their per-process gauges (each with its pid) to the shared files.
    old_workers = served.workers()
    served.wait(lambda: pids_of(scrape(served), "lifeceo_process_resident_memory_bytes")
                >= old_workers, "both workers' gauges")
    before = scrape(served)
    assert value(before, "lifeceo_http_requests_total", **COUNTED_LABELS) == base + 30

    for pid in old_workers:
        os.kill(pid, signal.SIGKILL)
    served.wait(lambda: len(served.workers()) == 2 and not served.workers() & old_workers
                and ready(served.url), "two new workers")
    after = scrape(served)
    # The dead workers' requests are still counted; their live gauges are gone.
    assert value(after, "lifeceo_http_requests_total", **COUNTED_LABELS) == base + 30
    assert not pids_of(after, "lifeceo_process_resident_memory_bytes") & old_workers
    count_requests(served, 5)
    assert value(scrape(served), "lifeceo_http_requests_total", **COUNTED_LABELS) == base + 35


def test_the_job_workers_durations_and_promtool(served):
    registered = httpx.post(f"{served.url}/api/v1/auth/register", json={
        "username": "metrics_user", "email": "metrics@example.org",
        "password": "milonga-password"})
    assert registered.status_code == 201, registered.text
    # The welcome email runs in the job worker process, not in the web worker scraped.
    served.wait(lambda: value(scrape(served), "lifeceo_job_duration_seconds_count",
                              queue="email", outcome="succeeded") >= 1, "the email job")
    if PROMTOOL is not None:
        checked = subprocess.run([PROMTOOL, "check", "metrics"], input=scrape(served).encode(),
                                 capture_output=True, timeout=60, check=False)
        assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
