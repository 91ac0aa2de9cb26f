"""The platform's own periodic jobs: warming the cache, pruning finished jobs."""

import time

import structlog

from lifeceo.platform import flags
from lifeceo.platform.cache import Cache
from lifeceo.platform.flags.defaults import ON_BY_DEFAULT, PREDICTIVE_CACHING
from lifeceo.platform.pubsub import LiveHub, LiveMessage, publish
from lifeceo.platform.queue import repository
from lifeceo.platform.queue.context import JobContext
from lifeceo.platform.queue.registry import job

log = structlog.get_logger(__name__)
# Rows per transaction: a few milliseconds of row locks each.
PRUNE_BATCH = 1000
WARM_TOPIC = "cache:warm"
# How long a web process's warmer waits for a message before checking it is still wanted.
WAIT_SECONDS = 60.0


@job("warm-cache", queue="data-sync")
async def warm_cache(ctx: JobContext) -> None:
    """Ask every web process to recompute its hot keys that are about to expire: the keys are
    hot where requests read them, not in the worker running this job."""
    await publish(LiveMessage(WARM_TOPIC, id=time.time_ns(), data={}), settings=ctx.settings,
                  engine=ctx.engine)


async def warm_when_asked(cache: Cache, hub: LiveHub) -> None:
    """Run by each web process for its lifetime: warm its cache whenever warm-cache asks (and
    the predictive-caching flag is on)."""
    with hub.subscribe(WARM_TOPIC) as subscription:
        while not subscription.closed:
            if await subscription.receive(timeout_seconds=WAIT_SECONDS) is None:
                continue
            if not flags.current().is_enabled(PREDICTIVE_CACHING,
                                              ON_BY_DEFAULT[PREDICTIVE_CACHING]):
                continue
            try:
                refreshed = await cache.warm()
            except Exception:  # the next request to warm must still be heard
                log.exception("cache warm failed")
                continue
            log.info("cache warmed", keys=refreshed)


@job("queue-probe", queue="data-sync")
async def queue_probe(ctx: JobContext) -> None:
    """Does nothing: `lifeceo bench` times how soon a worker starts it after it is enqueued."""


@job("prune-jobs", queue="data-sync")
async def prune_jobs(ctx: JobContext) -> None:
    """Delete finished jobs past jobs_keep_finished_hours, dead letters past jobs_keep_dead_days."""
    settings = ctx.settings
    for statuses, seconds in ((repository.FINISHED, settings.jobs_keep_finished_hours * 3600),
                              (repository.DEAD, settings.jobs_keep_dead_days * 86_400)):
        total = 0
        while True:
            async with ctx.transaction() as session:
                deleted = await repository.delete_jobs(session, statuses=statuses,
                                                       older_than_seconds=seconds,
                                                       limit=PRUNE_BATCH)
            total += deleted
            if deleted < PRUNE_BATCH:
                break
        log.info("jobs pruned", statuses=statuses, deleted=total)
