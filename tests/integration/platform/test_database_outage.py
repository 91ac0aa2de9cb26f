"""The real `lifeceo serve --workers 2` on a private PostgreSQL that is stopped under write load."""

import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest
from tests.serving import environment, passing, serving

from lifeceo.platform.db.embedded import EmbeddedPostgres

pytestmark = pytest.mark.slow

PASSWORD = "outage-password"
CLIENTS = 10
OUTAGE_SECONDS = 5
# Load before and after the outage: long enough for every client to write many times.
STEADY_SECONDS = 4
# The job worker, riding the outage out, works again within this of PostgreSQL's return (its
# reconnect probe runs every second; generous for a loaded machine).
JOBS_BACK_SECONDS = 30


@dataclass
class Outcome:
    """What one client saw: (start time, status or exception name) per request."""
    requests: list[tuple[float, str]] = field(default_factory=list)
    acknowledged: list[int] = field(default_factory=list)
    bad_503s: list[str] = field(default_factory=list)


@pytest.fixture
def cluster() -> Iterator[EmbeddedPostgres]:
    # A short path: the Unix socket then lives in it, apart from any other cluster's.
    directory = Path(tempfile.mkdtemp(prefix="lco-outage-"))
    postgres = EmbeddedPostgres(directory)
    postgres.start()
    try:
        yield postgres
    finally:
        postgres.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def server(cluster, tmp_path) -> Iterator[tuple[str, subprocess.Popen, Path]]:
    env = environment(drop=["LIFECEO_JOBS_INLINE"], database_url=cluster.url,
                      data_dir=str(tmp_path / "data"), ratelimit_enabled="false",
                      log_format="json")
    with serving(tmp_path / "serve.log", env, check=passing) as served:
        yield served.url, served.process, served.log


def job_worker_pid(serve: subprocess.Popen) -> int | None:
    for child in psutil.Process(serve.pid).children():
        try:
            if "--stop-on-stdin-eof" in child.cmdline():
                return child.pid
        except psutil.NoSuchProcess:
            pass
    return None


def login(url: str, username: str) -> dict[str, str]:
    with httpx.Client(base_url=url, timeout=30) as http:
        registered = http.post("/api/v1/auth/register", json={
            "username": username, "email": f"{username}@example.org", "password": PASSWORD})
        assert registered.status_code == 201, registered.text
        token = http.post("/api/v1/auth/login",
                          json={"username": username, "password": PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def write_until(url: str, headers: dict[str, str], name: str, stop: threading.Event,
                outcome: Outcome) -> None:
    """Post over one keep-alive connection until `stop`, recording every answer."""
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        number = 0
        while not stop.is_set():
            number += 1
            started = time.monotonic()
            try:
                response = http.post("/api/v1/posts", json={"body": f"{name} post {number}"})
            except httpx.TransportError as exc:
                outcome.requests.append((started, type(exc).__name__))
                continue
            outcome.requests.append((started, str(response.status_code)))
            if response.status_code == 201:
                outcome.acknowledged.append(response.json()["id"])
            elif response.status_code == 503:
                if (response.headers.get("content-type") != "application/problem+json"
                        or not response.headers.get("retry-after", "").isdigit()):
                    outcome.bad_503s.append(f"{response.headers} {response.text}")
            time.sleep(0.02)


def test_a_database_outage_under_write_load_answers_503_and_loses_nothing(cluster, server):
    url, serve, log = server
    writers = [login(url, f"writer{i}") for i in range(CLIENTS)]
    watcher, star = login(url, "watcher"), login(url, "star")
    worker_before = job_worker_pid(serve)
    assert worker_before is not None

    stop = threading.Event()
    outcomes = [Outcome() for _ in writers]
    threads = [threading.Thread(target=write_until, args=(url, headers, f"w{i}", stop, outcome))
               for i, (headers, outcome) in enumerate(zip(writers, outcomes, strict=True))]
    for thread in threads:
        thread.start()
    try:
        time.sleep(STEADY_SECONDS)
        cluster.stop()
        time.sleep(OUTAGE_SECONDS)
        cluster.start()
        back = time.monotonic()
        time.sleep(STEADY_SECONDS)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)

    statuses = [status for outcome in outcomes for _, status in outcome.requests]
    counts = {status: statuses.count(status) for status in sorted(set(statuses))}
    print(f"answers during a {OUTAGE_SECONDS} s outage, {CLIENTS} writers: {counts}")
    assert counts.get("503", 0) > 0, f"the outage was not felt: {counts}"
    assert set(counts) <= {"201", "503"}, counts
    assert [bad for outcome in outcomes for bad in outcome.bad_503s] == []
    # The first request each client started after PostgreSQL was back succeeded.
    firsts = [next(status for started, status in outcome.requests if started >= back)
              for outcome in outcomes]
    assert firsts == ["201"] * CLIENTS, firsts

    acknowledged = [post_id for outcome in outcomes for post_id in outcome.acknowledged]
    with psycopg.connect(cluster.url) as connection:
        stored = {row[0] for row in connection.execute(
            "SELECT id FROM posts WHERE id = ANY(%s)", (acknowledged,))}
    assert len(acknowledged) > 0 and set(acknowledged) == stored

    # The job worker rode it out: the same process, and it still works the queues.
    assert job_worker_pid(serve) == worker_before, log.read_text()[-3000:]
    with httpx.Client(base_url=url, timeout=30) as http:
        assert http.post("/api/v1/users/star/follow", headers=watcher).status_code == 200
        deadline = back + STEADY_SECONDS + JOBS_BACK_SECONDS
        while not http.get("/api/v1/notifications", headers=star).json()["items"]:
            assert time.monotonic() < deadline, "the job worker did not notify after the outage"
            time.sleep(0.2)
