"""Jobs of the feeds: the hourly trending ranking."""

from datetime import UTC, datetime

from lifeceo.community.feed.trending import trending_service
from lifeceo.platform.queue import JobContext, job


@job("calculate-trending", queue="data-sync")
async def calculate_trending(ctx: JobContext) -> None:
    """Hourly: rank the last 24 hours as of now, replacing the stored ranking."""
    async with ctx.transaction() as session:
        await trending_service.recalculate(session=session, cache=ctx.cache,
                                           now=datetime.now(UTC))
