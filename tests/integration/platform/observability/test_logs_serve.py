"""The real `lifeceo serve --workers 2` and a real `lifeceo worker` on one database, with Redis
unreachable: each process warns about it, and one GET /api/v1/admin/logs shows all three."""

import subprocess
import time

import httpx
import psycopg
import pytest
from tests.serving import LIFECEO, environment, free_port, serving

pytestmark = pytest.mark.slow

PASSWORD = "logs-password-1"
# Every process starts, finds Redis down, warns, and ships within its 1 s interval.
SHIPPED_SECONDS = 60


def admin_headers(url: str, database_url: str) -> dict[str, str]:
    with httpx.Client(base_url=url, timeout=30) as http:
        assert http.post("/api/v1/auth/register", json={
            "username": "logboss", "email": "logboss@example.org",
            "password": PASSWORD}).status_code == 201
        with psycopg.connect(database_url) as connection:
            connection.execute("UPDATE users SET is_admin = true WHERE username = 'logboss'")
        token = http.post("/api/v1/auth/login", json={"username": "logboss",
                                                      "password": PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_warnings_of_both_web_workers_and_the_job_worker_in_one_query(database_url, tmp_path):
    with psycopg.connect(database_url) as connection:
        connection.execute("TRUNCATE log_records, users RESTART IDENTITY CASCADE")
    # Nothing listens there: every process opens its cache breaker at startup, and says so.
    env = environment(drop=["LIFECEO_JOBS_INLINE"], database_url=database_url,
                      data_dir=str(tmp_path / "data"), redis_url=f"redis://127.0.0.1:{free_port()}/0",
                      jobs_worker_in_serve="false", log_ship_interval_seconds="1",
                      ratelimit_enabled="false", log_format="json")
    with (tmp_path / "worker.log").open("ab") as output:
        worker = subprocess.Popen([str(LIFECEO), "worker"], env=env, stdout=output,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        with serving(tmp_path / "serve.log", env, workers=2) as served:
            web_pids = served.workers()
            assert len(web_pids) == 2
            headers = admin_headers(served.url, database_url)
            deadline = time.monotonic() + SHIPPED_SECONDS
            while True:
                page = httpx.get(f"{served.url}/api/v1/admin/logs", headers=headers,
                                 params={"level": "warning", "limit": 1000}, timeout=30).json()
                seen = {(item["role"], item["pid"]) for item in page["items"]}
                if {("web", pid) for pid in web_pids} | {("worker", worker.pid)} <= seen:
                    break
                assert time.monotonic() < deadline, (
                    f"{seen} of web {web_pids}, worker {worker.pid}\n"
                    + (tmp_path / "worker.log").read_text()[-2000:])
                time.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(60)
    assert page["source"] == "database"
    opened = {item["pid"] for item in page["items"] if item["event"] == "circuit opened"}
    assert web_pids | {worker.pid} <= opened
    assert len({item["node"] for item in page["items"]}) == 1
