"""/api/metrics of a real `lifeceo serve --workers 2` (multiprocess mode): the workers' and the
job worker's figures summed, and no counter going backwards when workers are killed."""

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.slow

LIFECEO = Path(sys.executable).with_name("lifeceo")
PROMTOOL = shutil.which("promtool")
READY_TIMEOUT_SECONDS = 90
# Only this test asks for it, so its count is exactly the test's requests.
COUNTED = "/api/health/startup"
COUNTED_LABELS = {"route": COUNTED, "method": "GET", "status": "2xx"}


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Served:
    def __init__(self, process: subprocess.Popen, url: str, log: Path) -> None:
        self.process, self.url, self.log = process, url, log

    def workers(self) -> set[int]:
        pids = set()
        for child in psutil.Process(self.process.pid).children():
            try:
                if "spawn_main" in " ".join(child.cmdline()) and child.status() != "zombie":
                    pids.add(child.pid)
            except psutil.NoSuchProcess:
                pass
        return pids

    def wait(self, condition, what: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if condition():
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{what}: not in {READY_TIMEOUT_SECONDS} s\n"
                             + self.log.read_text()[-3000:])

    def ready(self) -> bool:
        return httpx.get(f"{self.url}/api/health/ready").status_code == 200

    def scrape(self) -> str:
        response = httpx.get(f"{self.url}/api/metrics")
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
    port = free_port()
    env = {**os.environ, "LIFECEO_DATABASE_URL": database_url,
           "LIFECEO_DATA_DIR": str(directory / "data"),
           # A job worker process of its own: its job durations reach the web workers' scrape.
           "LIFECEO_JOBS_INLINE": "false", "LIFECEO_METRICS_SAMPLE_INTERVAL_SECONDS": "0.5"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = directory / "serve.log"
    with log.open("ab") as output:
        process = subprocess.Popen([str(LIFECEO), "serve", "--workers", "2", "--port", str(port)],
                                   env=env, stdout=output, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL)
    server = Served(process, f"http://127.0.0.1:{port}", log)
    try:
        server.wait(server.ready, "ready")
        yield server
    finally:
        process.terminate()
        process.wait(60)


def count_requests(server: Served, n: int) -> None:
    for _ in range(n):
        # A connection each: the kernel spreads them over both workers' accept().
        assert httpx.get(f"{server.url}{COUNTED}").status_code == 200


def test_workers_are_summed_and_killed_workers_keep_their_counts(served):
    served.wait(lambda: len(served.workers()) == 2, "two workers")
    base = value(served.scrape(), "lifeceo_http_requests_total", **COUNTED_LABELS)
    count_requests(served, 30)
    # Both workers publish their per-process gauges (each with its pid) to the shared files.
    old_workers = served.workers()
    served.wait(lambda: pids_of(served.scrape(), "lifeceo_process_resident_memory_bytes")
                >= old_workers, "both workers' gauges")
    before = served.scrape()
    assert value(before, "lifeceo_http_requests_total", **COUNTED_LABELS) == base + 30

    for pid in old_workers:
        os.kill(pid, signal.SIGKILL)
    served.wait(lambda: len(served.workers()) == 2 and not served.workers() & old_workers
                and served.ready(), "two new workers")
    after = served.scrape()
    # The dead workers' requests are still counted; their live gauges are gone.
    assert value(after, "lifeceo_http_requests_total", **COUNTED_LABELS) == base + 30
    assert not pids_of(after, "lifeceo_process_resident_memory_bytes") & old_workers
    count_requests(served, 5)
    assert value(served.scrape(), "lifeceo_http_requests_total", **COUNTED_LABELS) == base + 35


def test_the_job_workers_durations_and_promtool(served):
    registered = httpx.post(f"{served.url}/api/v1/auth/register", json={
        "username": "metrics_user", "email": "metrics@example.org",
        "password": "milonga-password"})
    assert registered.status_code == 201, registered.text
    # The welcome email runs in the job worker process, not in the web worker scraped.
    served.wait(lambda: value(served.scrape(), "lifeceo_job_duration_seconds_count",
                              queue="email", outcome="succeeded") >= 1, "the email job")
    if PROMTOOL is not None:
        checked = subprocess.run([PROMTOOL, "check", "metrics"], input=served.scrape().encode(),
                                 capture_output=True, timeout=60, check=False)
        assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
