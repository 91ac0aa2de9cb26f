"""The search vocabulary (did-you-mean and suggestions) kept up to date by a periodic job."""

from lifeceo.platform.queue import JobContext, job
from lifeceo.platform.search import postgres_search_index


@job("refresh-search-terms", queue="data-sync")
async def refresh_search_terms(ctx: JobContext) -> None:
    """Refresh the vocabulary materialized view (CONCURRENTLY: searches never wait for it)."""
    async with ctx.engine.begin() as connection:
        await postgres_search_index.refresh_vocabulary(connection)
