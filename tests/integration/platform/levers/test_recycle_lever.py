"""The recycle lever on the real `lifeceo serve --workers 2`: one worker, named by whichever
worker takes the request, is replaced under a steady load without a failed request, and the
supervisor says it recycled it, not that it died."""

import asyncio
import time

import httpx
import pytest
from tests.integration.test_serve import Load, register_and_login
from tests.serving import environment, serving

from lifeceo import admin
from lifeceo.settings import get_settings

pytestmark = pytest.mark.slow

LEVERS = "/api/v1/admin/levers"
# The replacement gets ready (4.7-7 s measured under load, settings.py), then the old worker
# drains; generous for a loaded machine.
RECYCLE_TIMEOUT_SECONDS = 90


def test_a_worker_is_recycled_under_load_without_a_failed_request(tmp_path, database_url):
    env = environment(drop=["LIFECEO_JOBS_INLINE"], database_url=database_url,
                      data_dir=str(tmp_path / "data"), jobs_worker_in_serve="false",
                      levers_report_wait_ms="1000")
    with serving(tmp_path / "serve.log", env) as server, \
            httpx.Client(base_url=server.url, timeout=30) as http:
        headers = register_and_login(http, "recycle_boss")
        assert asyncio.run(admin.promote(get_settings(), database_url, username="recycle_boss"))
        workers = server.workers()
        assert len(workers) == 2

        def web_processes() -> list[str]:
            report = http.get(LEVERS, headers=headers).json()
            return sorted(process["process"] for process in report["processes"])

        # Both workers answer; the one recycled is named, whichever takes the pull.
        server.wait(lambda: len(web_processes()) == 2, "both workers report")
        target = web_processes()[0]
        pid = int(target.rsplit(":", 1)[1])
        assert pid in workers
        log_size = server.log.stat().st_size
        with Load(server.url) as load:
            time.sleep(1)  # the clients are all sending
            pulled = http.post(f"{LEVERS}/recycle", headers=headers,
                               json={"target": target, "value": "graceful", "seconds": 300})
            assert pulled.status_code == 200, pulled.text
            assert pulled.json()["value"] == target
            server.wait(lambda: pid not in server.workers() and len(server.workers()) == 2,
                        "the worker replaced", timeout=RECYCLE_TIMEOUT_SECONDS)
            time.sleep(1)  # served by the replacement and the other worker
        [replacement] = server.workers() - workers
        assert load.failures == []
        assert load.served > 0
        log = server.log.read_bytes()[log_size:].decode(errors="replace")
        recycled = [line for line in log.splitlines() if "worker recycled" in line]
        assert len(recycled) == 1, log[-3000:]
        assert str(replacement) in recycled[0]
        assert "died" not in log
        print(recycled[0], f"\nserved {load.served} requests during the recycle")

        # Every worker of the node reports it, the replacement too.
        def reported() -> list[dict]:
            report = http.get(LEVERS, headers=headers).json()
            return [process["levers"]["recycle"] for process in report["processes"]]

        server.wait(lambda: len(reported()) == 2, "both workers report")
        for state in reported():
            assert state["supervised"] is True
            [outcome] = state["recycled"]
            assert outcome["pid"] == pid and outcome["replacement_pid"] == replacement
            assert outcome["outcome"] == "recycled"
        # A bad pull is refused; the replacement is not recycled by the setting still in force.
        assert http.post(f"{LEVERS}/recycle", headers=headers, json={
            "target": "nobody", "value": "graceful", "seconds": 5}).status_code == 422
        assert server.workers() == {replacement} | (workers - {pid})
        # The hub is the database's: other applications on it would keep the setting listed.
        assert http.delete(f"{LEVERS}/recycle", headers=headers,
                           params={"target": target}).status_code == 204
