"""The job queue and the image pipeline, measured from the benchmark's own process: how many jobs
an API process can enqueue, how soon a worker starts one, how long a large photo takes."""

import asyncio
import io
import statistics
import time
from dataclasses import dataclass

from PIL import Image
from sqlalchemy import text

from lifeceo.community.media import processing
from lifeceo.platform.db.engine import create_engine, create_sessionmaker
from lifeceo.platform.queue import (
    enqueue,
    enqueue_many,
    maintenance,  # noqa: F401 (registers the probe job)
)
from lifeceo.settings import Settings

PROBE = "queue-probe"
# Enqueue: as many requests at once as a worker process's pool serves, one commit per job.
ENQUEUERS = 16
# A fan-out (a reminder per attendee, a notification per follower): one statement per commit.
BATCH = 100
LATENCY_PROBES = 100
LATENCY_SPACING_SECONDS = 0.02
PHOTO_SIZE = (4000, 3000)
PHOTO_RUNS = 3


@dataclass(frozen=True)
class JobFigures:
    enqueued_per_second: float
    # A request that fans out (a notification per follower): many jobs, one commit.
    enqueued_per_second_batched: float
    start_p50_ms: float
    start_p95_ms: float
    photo_seconds: float


def measure(database_url: str, *, seconds: float) -> JobFigures:
    photo_seconds = _photo_seconds()
    return asyncio.run(_measure_queue(database_url, seconds=seconds, photo_seconds=photo_seconds))


async def _measure_queue(database_url: str, *, seconds: float, photo_seconds: float) -> JobFigures:
    settings = Settings(database_url=database_url, database_pool_size=ENQUEUERS)
    engine = create_engine(settings, database_url)
    sessionmaker = create_sessionmaker(engine)
    try:
        # On an idle queue first: the throughput run leaves the worker busy for a while.
        starts = await _start_latencies(sessionmaker, engine)
        rate = await _enqueue_rate(sessionmaker, seconds=seconds / 2, per_commit=1)
        batched = await _enqueue_rate(sessionmaker, seconds=seconds / 2, per_commit=BATCH)
    finally:
        await engine.dispose()
    return JobFigures(enqueued_per_second=round(rate, 1),
                      enqueued_per_second_batched=round(batched, 1),
                      start_p50_ms=round(statistics.median(starts), 1),
                      start_p95_ms=round(statistics.quantiles(starts, n=20)[18], 1),
                      photo_seconds=round(photo_seconds, 3))


async def _enqueue(sessionmaker, count: int = 1) -> int | None:
    """Enqueue one probe, or a batch of `count` in one statement, in one transaction; an id."""
    async with sessionmaker() as session, session.begin():
        if count == 1:
            return await enqueue(session, PROBE)
        return (await enqueue_many(session, PROBE, [{}] * count))[-1]


async def _start_latencies(sessionmaker, engine) -> list[float]:
    """Milliseconds from each probe's enqueue to its start, one probe at a time, as the
    database recorded them (procrastinate's `deferred` and `started` events)."""
    job_ids = []
    for _ in range(LATENCY_PROBES):
        job_ids.append(await _enqueue(sessionmaker))
        await asyncio.sleep(LATENCY_SPACING_SECONDS)
    deadline = time.monotonic() + 30
    while True:
        async with engine.connect() as connection:
            latencies = (await connection.scalars(text(
                "SELECT extract(epoch FROM min(at) FILTER (WHERE type = 'started')"
                " - min(at) FILTER (WHERE type = 'deferred')) * 1000 FROM procrastinate_events"
                " WHERE job_id = ANY(:ids) GROUP BY job_id"), {"ids": job_ids})).all()
        started = [float(latency) for latency in latencies if latency is not None]
        if len(started) == len(job_ids):
            return started
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(job_ids) - len(started)} of {len(job_ids)} probe jobs "
                               "never started: is the worker running?")
        await asyncio.sleep(0.2)


async def _enqueue_rate(sessionmaker, *, seconds: float, per_commit: int) -> float:
    count = 0
    stop_at = time.monotonic() + seconds

    async def enqueuer() -> None:
        nonlocal count
        while time.monotonic() < stop_at:
            await _enqueue(sessionmaker, per_commit)
            count += per_commit

    started = time.monotonic()
    await asyncio.gather(*(enqueuer() for _ in range(ENQUEUERS)))
    return count / (time.monotonic() - started)


def _photo_seconds() -> float:
    """The median time to render a 12-megapixel JPEG into every variant and its placeholder."""
    width, height = PHOTO_SIZE
    gradient = Image.linear_gradient("L").resize(PHOTO_SIZE)
    noise = Image.effect_noise((width // 8, height // 8), 60).resize(PHOTO_SIZE)
    photo = Image.merge("RGB", (gradient, gradient.transpose(Image.Transpose.ROTATE_90)
                                .resize(PHOTO_SIZE), noise))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=90)
    data = buffer.getvalue()
    timings = []
    for _ in range(PHOTO_RUNS):
        started = time.perf_counter()
        processing.render(data, max_pixels=width * height)
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)
