"""The daily cleanup-old-data job: what is past retention (LIFECEO_RETENTION_DAYS) is deleted in
small batches, one transaction each, so that no row stays locked for long and an interrupted
run leaves nothing half done: the next run, or the retry, carries on where it stopped."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.community.maintenance import repository
from lifeceo.community.media.cache_keys import image_key
from lifeceo.community.media.service import discard, originals_in, variant_keys, variants_in
from lifeceo.platform.queue import JobContext, job

log = structlog.get_logger(__name__)
# Rows per transaction: a few milliseconds of locks each.
BATCH_ROWS = 1000
# Media per transaction, whose files are deleted while their rows are locked.
BATCH_MEDIA = 100


@job("cleanup-old-data", queue="data-sync")
async def cleanup_old_data(ctx: JobContext) -> None:
    now = datetime.now(UTC)
    cutoff = now - timedelta(days=ctx.settings.retention_days)
    deleted = {
        "notifications": await _walk(ctx, lambda session, after: (
            repository.delete_read_notifications(session, cutoff=cutoff, after_id=after,
                                                 limit=BATCH_ROWS))),
        "sessions": await _walk(ctx, lambda session, after: (
            repository.delete_ended_sessions(session, now=now, after_id=after,
                                             limit=BATCH_ROWS))),
        "analytics_events": await _repeat(ctx, lambda session: (
            repository.delete_events_before(session, cutoff=cutoff, limit=BATCH_ROWS))),
        "rum_samples": await _repeat(ctx, lambda session: (
            repository.delete_rum_before(session, cutoff=cutoff, limit=BATCH_ROWS))),
        "media": await _repeat(ctx, lambda session: _delete_orphan_media(ctx, session, cutoff),
                               batch=BATCH_MEDIA),
    }
    log.info("old data deleted", retention_days=ctx.settings.retention_days, **deleted)


async def _walk(ctx: JobContext,
                delete_batch: Callable[[AsyncSession, int], Awaitable[list[int]]]) -> int:
    """Batches along the primary key: each starts after the last id the previous one deleted."""
    total, after = 0, 0
    while True:
        async with ctx.transaction() as session:
            ids = await delete_batch(session, after)
        total += len(ids)
        if len(ids) < BATCH_ROWS:
            return total
        after = max(ids)


async def _repeat(ctx: JobContext, delete_batch: Callable[[AsyncSession], Awaitable[int]], *,
                  batch: int = BATCH_ROWS) -> int:
    """Batches of the oldest rows until one comes back short."""
    total = 0
    while True:
        async with ctx.transaction() as session:
            count = await delete_batch(session)
        total += count
        if count < batch:
            return total


async def _delete_orphan_media(ctx: JobContext, session: AsyncSession, cutoff: datetime) -> int:
    """Files first, then the rows, while the rows are locked: if the commit fails, the rows
    stay (orphans still) and the next run deletes them, their missing files being no error.
    The other order would leave files no row names, which nothing would ever delete."""
    orphans = await repository.lock_orphan_media(session, cutoff=cutoff, limit=BATCH_MEDIA)
    if not orphans:
        return 0
    originals, variants = originals_in(ctx.settings), variants_in(ctx.settings)
    for media in orphans:
        await originals.delete(media.storage_key)
        await discard(variants, variant_keys(media))
    await repository.delete_media(session, [media.id for media in orphans])
    await ctx.cache.invalidate(keys=[image_key(media.id) for media in orphans], session=session)
    return len(orphans)
