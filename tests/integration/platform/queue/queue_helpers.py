"""Jobs and helpers of the queue tests. The jobs register on import, here and in the worker
processes the tests start (see worker_command)."""

import asyncio
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text

from lifeceo.platform.queue import JobContext, PermanentFailure, job
from lifeceo.platform.queue.worker import run_worker

HERE = Path(__file__).resolve().parent


@dataclass
class Runs:
    """What the in-process jobs did, in order."""

    done: list[tuple[str, int]] = field(default_factory=list)
    spans: list[tuple[str, float, float]] = field(default_factory=list)
    failing: set[int] = field(default_factory=set)

    def clear(self) -> None:
        self.done.clear()
        self.spans.clear()
        self.failing.clear()


RUNS = Runs()


@job("queue-test-record", queue="email")
async def record(ctx: JobContext, *, n: int) -> None:
    RUNS.done.append(("record", n))


@job("queue-test-fail", queue="email")
async def fail(ctx: JobContext, *, n: int) -> None:
    raise RuntimeError(f"boom {n}")


@job("queue-test-refused", queue="email")
async def refused(ctx: JobContext, *, n: int) -> None:
    raise PermanentFailure(f"refused {n}")


@job("queue-test-flaky", queue="analytics")
async def flaky(ctx: JobContext, *, n: int) -> None:
    if n in RUNS.failing:
        raise RuntimeError(f"flaky {n}")
    RUNS.done.append(("flaky", n))


@job("queue-test-span", queue="notifications")
async def span(ctx: JobContext, *, n: int, seconds: float = 0.0) -> None:
    started = time.monotonic()
    await asyncio.sleep(seconds)
    RUNS.spans.append((str(n), started, time.monotonic()))


@job("queue-test-block", queue="performance-metrics")
async def block(ctx: JobContext, *, directory: str, seconds: float) -> None:
    """Idempotent by its marker files: the first run blocks for `seconds`, any later run only
    finishes."""
    runs = Path(directory) / "runs"
    with runs.open("a") as log:
        log.write(f"{os.getpid()}\n")
    if len(runs.read_text().split()) == 1:
        await asyncio.sleep(seconds)
    (Path(directory) / "done").write_text(str(os.getpid()))


def worker_command(*args: str) -> list[str]:
    """`lifeceo worker ARGS` in a fresh interpreter that also knows the jobs above."""
    code = (f"import sys; sys.path.insert(0, {str(HERE)!r}); import queue_helpers; "
            "from lifeceo.cli import app; app()")
    return [sys.executable, "-c", code, "worker", *args]


async def wait_for(condition: Callable, *, timeout: float = 15.0, every: float = 0.05):
    """Poll `condition` (sync or async) until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s")
        await asyncio.sleep(every)


class InProcessWorker:
    """`lifeceo worker`'s run_worker as a task of the test's event loop."""

    def __init__(self, context: JobContext) -> None:
        self.context = context
        self._stop = asyncio.Event()
        self._task: asyncio.Task | None = None

    def start(self, *queues: str, concurrency: int | None = None, **settings) -> None:
        configured = self.context.settings.model_copy(update=settings)
        self._task = asyncio.create_task(run_worker(configured, queues=queues,
                                                    concurrency=concurrency, stop=self._stop))

    async def registered(self) -> None:
        """Wait until every queue's worker has registered (and so is fetching jobs)."""
        async def count() -> int:
            async with self.context.sessionmaker() as session:
                return await session.scalar(text("SELECT count(*) FROM procrastinate_workers"))

        await wait_for(count)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self) -> int:
        self._stop.set()
        return await self._task


async def job_rows(context: JobContext, name: str) -> list:
    async with context.sessionmaker() as session:
        rows = await session.execute(text(
            "SELECT id, status::text AS status, attempts, args, queue_name, priority, "
            "scheduled_at, queueing_lock FROM procrastinate_jobs WHERE task_name = :name "
            "ORDER BY id"), {"name": name})
        return list(rows)
