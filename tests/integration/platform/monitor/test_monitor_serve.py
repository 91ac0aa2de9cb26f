"""The monitor in a real `lifeceo serve --workers 2`: one of the workers leads, and real 5xx
responses open an incident. The failure is real: the adaptive concurrency lever, pulled on with
a limit of one, sheds concurrent searches with 503 (the platform's own overload answer), which
the metrics history counts as 5xx. A shed request never reaches the router, yet it counts under
the route class "search", the one the lever targets, never "unmatched": both the search incident
and the one of all requests open."""

import threading
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.serving import Served, environment, serving

pytestmark = pytest.mark.slow

MONITOR = "/api/v1/admin/monitor"


@pytest.fixture(scope="module")
def served(database_url, tmp_path_factory) -> Iterator[Served]:
    directory = tmp_path_factory.mktemp("monitor-serve")
    env = environment(
        drop=["PROMETHEUS_MULTIPROC_DIR"], database_url=database_url,
        data_dir=str(directory / "data"), monitor_enabled="true", monitor_interval_seconds="1",
        metrics_history_enabled="true", metrics_history_interval_seconds="1",
        log_ship_interval_seconds="1", ratelimit_api="100000/minute",
        # Windows and minimums for a test of seconds, not an hour of traffic.
        monitor_short_window_seconds="5", monitor_long_window_seconds="15",
        monitor_min_requests_per_window="20", levers_concurrency_initial_limit="1",
        levers_concurrency_min_limit="1", levers_concurrency_max_limit="1")
    with serving(directory / "serve.log", env) as server:
        yield server


def admin_headers(server: Served, database_url: str) -> dict[str, str]:
    account = {"username": "monitorboss", "email": "monitorboss@example.org",
               "password": "correct horse battery"}
    assert httpx.post(f"{server.url}/api/v1/auth/register", json=account).status_code == 201
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE users SET is_admin = true WHERE username = 'monitorboss'")
    login = httpx.post(f"{server.url}/api/v1/auth/login",
                       json={"username": "monitorboss", "password": account["password"]})
    return {"Authorization": f"Bearer {login.json()['token']}"}


def leaders(server: Served) -> float:
    text = httpx.get(f"{server.url}/api/metrics").text
    return sum(sample.value for family in text_string_to_metric_families(text)
               for sample in family.samples if sample.name == "lifeceo_monitor_leader")


def test_real_503s_open_an_incident_and_one_worker_leads(served, database_url):
    served.wait(lambda: len(served.workers()) == 2, "two workers")
    admin = admin_headers(served, database_url)

    def leading_worker() -> int | None:
        leader = httpx.get(f"{served.url}{MONITOR}/status", headers=admin).json()["leader"]
        return int(leader.split(":")[1]) if leader else None

    # An evaluation by one of the workers (monitor_detectors may hold an earlier test's).
    served.wait(lambda: leading_worker() in served.workers(), "a worker's evaluation")
    assert leaders(served) == 1
    # Shed before routing, the 503s still count as search's, the class the lever targets.
    pulled = httpx.post(f"{served.url}/api/v1/admin/levers/concurrency", headers=admin,
                        json={"target": "search", "value": "on", "seconds": 120})
    assert pulled.status_code == 200, pulled.text

    statuses: list[int] = []
    stop = threading.Event()

    def search() -> None:
        with httpx.Client(base_url=served.url) as http:
            while not stop.is_set():
                statuses.append(http.get("/api/v1/search", params={"q": "tango"}).status_code)

    threads = [threading.Thread(target=search) for _ in range(8)]
    for thread in threads:
        thread.start()

    def incident() -> bool:
        items = httpx.get(f"{served.url}{MONITOR}/incidents", params={"state": "open"},
                          headers=admin).json()["items"]
        found = {item["fingerprint"] for item in items}
        return {"error_burst:all", "error_burst:search"} <= found

    try:
        served.wait(incident, "an error_burst incident", timeout=60)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        # The hub is the database's: every app on it, this test process's too, heard the pull.
        httpx.delete(f"{served.url}/api/v1/admin/levers/concurrency", headers=admin,
                     params={"target": "search"})
    assert statuses.count(503) > 20
    [found] = [item for item in httpx.get(f"{served.url}{MONITOR}/incidents",
                                          headers=admin).json()["items"]
               if item["fingerprint"] == "error_burst:all"]
    detail = httpx.get(f"{served.url}{MONITOR}/incidents/{found['id']}", headers=admin).json()
    assert detail["evidence"]["detector"]["series"] == "http_error_ratio"
    assert detail["severity"] == "critical" and detail["timeline"][0]["kind"] == "detected"
    assert leaders(served) == 1
    assert not any(item["fingerprint"].endswith(":unmatched") for item in httpx.get(
        f"{served.url}{MONITOR}/incidents", headers=admin).json()["items"])
