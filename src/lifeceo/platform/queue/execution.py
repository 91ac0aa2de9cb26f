"""Running one job: the same in a worker and inline."""

import asyncio
from typing import Any

from lifeceo.platform.queue.context import JobContext
from lifeceo.platform.queue.registry import JobDefinition


async def execute(context: JobContext, definition: JobDefinition, args: dict[str, Any]) -> None:
    """Run the handler under its queue's timeout (TimeoutError past it)."""
    async with asyncio.timeout(context.settings.jobs_timeout_seconds[definition.queue]):
        await definition.handler(context, **args)
