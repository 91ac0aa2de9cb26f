"""The search vocabulary's changes (written by each post, event or profile write, migration
0004) folded into its counts by a periodic job, so that they never pile up."""

from lifeceo.platform.queue import JobContext, job
from lifeceo.platform.search import postgres_search_index


@job("refresh-search-terms", queue="data-sync")
async def refresh_search_terms(ctx: JobContext) -> None:
    """Fold the vocabulary's changes; suggestions are current without it, only cheaper after."""
    async with ctx.engine.begin() as connection:
        await postgres_search_index.fold_vocabulary(connection)
