"""The periodic job that keeps log_records bounded: past the retention, and past the row cap."""

from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from lifeceo.platform.observability import logs_repository as repository
from lifeceo.platform.queue import JobContext, job
from lifeceo.settings import Settings

log = structlog.get_logger(__name__)


@job("logs-expire", queue="data-sync")
async def logs_expire(ctx: JobContext) -> None:
    async with ctx.transaction() as session:
        deleted = await expire(session, settings=ctx.settings, now=datetime.now(UTC))
    log.info("old log records deleted", **deleted)


async def expire(session: AsyncSession, *, settings: Settings, now: datetime) -> dict[str, int]:
    return await repository.expire(
        session, before=now - timedelta(hours=settings.log_retention_hours),
        max_rows=settings.log_retention_max_rows)
