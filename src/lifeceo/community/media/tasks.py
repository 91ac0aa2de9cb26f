"""Jobs of the image-processing queue: render an upload's variants."""

import time

import structlog

from lifeceo.community.media import repository
from lifeceo.community.media.service import (
    PROCESS_MEDIA_JOB,
    discard,
    media_service,
    originals_in,
    variants_in,
)
from lifeceo.platform.queue import JobContext, job

log = structlog.get_logger(__name__)


@job(PROCESS_MEDIA_JOB, queue="image-processing")
async def process_media(ctx: JobContext, *, media_id: int) -> None:
    """Render the media's variants and mark it `ready`, or `failed` with the reason.

    Safe to repeat, and to resume after a crash: the same original always renders to the same
    variants under the same keys, files are written before the row refers to them, and files the
    row stops referring to are removed only after it has. No transaction is open while the image
    is decoded, so a slow image holds no connection and no lock.
    """
    started = time.perf_counter()
    async with ctx.transaction() as session:
        media = await repository.by_id(session, media_id)
    if media is None:
        return  # deleted before it was processed
    variants = variants_in(ctx.settings)
    rendering = await media_service.render(
        originals=originals_in(ctx.settings), variants=variants, media=media,
        max_pixels=ctx.settings.max_image_pixels)
    async with ctx.transaction() as session:
        unreferenced = await media_service.record(session=session, cache=ctx.cache,
                                                  media_id=media_id, rendering=rendering)
    await discard(variants, unreferenced)
    log.info("media processed", media_id=media_id,
             status="failed" if rendering.failure_reason else "ready",
             variants=len(rendering.variants),
             duration_ms=round((time.perf_counter() - started) * 1000, 1))
