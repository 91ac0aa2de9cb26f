"""Real `lifeceo worker` processes: at least once across SIGKILL, graceful SIGTERM, and the
worker process `lifeceo serve` supervises."""

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import psutil
import pytest
from queue_helpers import job_rows, wait_for, worker_command
from sqlalchemy import select, text

from lifeceo.platform.queue import enqueue
from lifeceo.platform.queue.models import JobFailure
from lifeceo.platform.queue.process import WorkerProcess

pytestmark = pytest.mark.slow
# Importing the application and migrating take a few seconds on a loaded 2-core machine.
START_TIMEOUT_SECONDS = 60


@pytest.fixture
def spawn(database_url, tmp_path):
    """Start `lifeceo worker --queues performance-metrics` with fast heartbeats."""
    processes: list[subprocess.Popen] = []

    def start(*, grace_seconds: float = 20.0) -> subprocess.Popen:
        env = {**os.environ, "LIFECEO_DATABASE_URL": database_url, "LIFECEO_LOG_FORMAT": "json",
               "LIFECEO_JOBS_HEARTBEAT_SECONDS": "0.5", "LIFECEO_JOBS_STALLED_AFTER_SECONDS": "2",
               "LIFECEO_JOBS_SHUTDOWN_GRACE_SECONDS": str(grace_seconds)}
        log = (tmp_path / f"worker-{len(processes)}.log").open("wb")
        process = subprocess.Popen(worker_command("--queues", "performance-metrics"), env=env,
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


async def _enqueue_block(context, directory: Path, *, seconds: float) -> None:
    async with context.sessionmaker() as session:
        await enqueue(session, "queue-test-block", directory=str(directory), seconds=seconds)
        await session.commit()


def _runs(directory: Path) -> list[int]:
    path = directory / "runs"
    return [int(pid) for pid in path.read_text().split()] if path.exists() else []


async def _exit_code(process: subprocess.Popen, timeout: float = 30.0) -> int:
    return await wait_for(lambda: process.poll() is not None, timeout=timeout) and process.returncode


async def test_a_job_whose_worker_is_killed_runs_again_to_completion(queued, spawn, tmp_path):
    await _enqueue_block(queued, tmp_path, seconds=3600)
    first = spawn()
    await wait_for(lambda: _runs(tmp_path) == [first.pid], timeout=START_TIMEOUT_SECONDS)
    first.send_signal(signal.SIGKILL)
    first.wait()

    second = spawn()
    await wait_for(lambda: (tmp_path / "done").exists(), timeout=START_TIMEOUT_SECONDS)
    assert _runs(tmp_path) == [first.pid, second.pid]
    assert (tmp_path / "done").read_text() == str(second.pid)
    [row] = await wait_for(lambda: job_rows(queued, "queue-test-block"))
    await wait_for(lambda: _status(queued, row.id, "succeeded"))
    async with queued.sessionmaker() as session:
        [failure] = await session.scalars(select(JobFailure).where(JobFailure.job_id == row.id))
    assert "stopped sending heartbeats" in failure.error


async def _status(context, job_id: int, status: str) -> bool:
    async with context.sessionmaker() as session:
        return await session.scalar(text(
            "SELECT status::text FROM procrastinate_jobs WHERE id = :id"), {"id": job_id}) == status


async def test_sigterm_lets_a_running_job_finish(queued, spawn, tmp_path):
    await _enqueue_block(queued, tmp_path, seconds=1.5)
    process = spawn(grace_seconds=20)
    await wait_for(lambda: _runs(tmp_path) == [process.pid], timeout=START_TIMEOUT_SECONDS)
    process.send_signal(signal.SIGTERM)
    assert await _exit_code(process) == 0
    assert (tmp_path / "done").read_text() == str(process.pid)
    [row] = await job_rows(queued, "queue-test-block")
    assert row.status == "succeeded"


async def test_sigterm_releases_a_job_past_the_grace_period(queued, spawn, tmp_path):
    await _enqueue_block(queued, tmp_path, seconds=3600)
    first = spawn(grace_seconds=0.5)
    await wait_for(lambda: _runs(tmp_path) == [first.pid], timeout=START_TIMEOUT_SECONDS)
    first.send_signal(signal.SIGTERM)
    assert await _exit_code(first) == 0
    [row] = await job_rows(queued, "queue-test-block")
    assert (row.status, row.attempts, (tmp_path / "done").exists()) == ("todo", 1, False)
    # Released, not lost: the next worker runs it.
    second = spawn()
    await wait_for(lambda: (tmp_path / "done").exists(), timeout=START_TIMEOUT_SECONDS)
    assert _runs(tmp_path) == [first.pid, second.pid]


async def _workers_after(context, worker_id: int) -> int:
    """Registered procrastinate workers with an id above `worker_id`."""
    async with context.sessionmaker() as session:
        return await session.scalar(text(
            "SELECT count(*) FROM procrastinate_workers WHERE id > :id"), {"id": worker_id})


async def test_serve_keeps_one_worker_process_running(queued):
    queues = 6  # one procrastinate worker per queue, each with its row
    supervised = WorkerProcess(grace_seconds=5)
    supervised.start()
    try:
        await wait_for(lambda: _has(queued, 0, queues), timeout=START_TIMEOUT_SECONDS)
        crashed = supervised.pid
        os.kill(crashed, signal.SIGKILL)
        # Replaced: a new process registers workers of its own.
        await wait_for(lambda: _has(queued, queues, queues), timeout=START_TIMEOUT_SECONDS)
        replacement = supervised.pid
    finally:
        await asyncio.to_thread(supervised.stop)
    assert replacement != crashed and not psutil.pid_exists(replacement)
    # Stopped gracefully: the replacement unregistered its workers.
    assert await _workers_after(queued, queues) == 0


async def _has(context, after_id: int, rows: int) -> bool:
    return await _workers_after(context, after_id) == rows
