"""Readiness of the queues: `warn` when a queue's oldest due job has waited too long (no worker,
or more work than workers), never `fail` (requests are still served)."""

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from lifeceo.platform.health.checks import Check, CheckFunction
from lifeceo.platform.queue import repository
from lifeceo.settings import Settings


def queue_check(settings: Settings, engine: AsyncEngine) -> CheckFunction:
    async def check() -> list[Check]:
        if settings.jobs_inline:
            return [Check("queues", "mode", "component", "pass", "inline")]
        async with AsyncSession(engine) as session:
            depths = await repository.queue_depths(session)
        limit = settings.jobs_max_wait_seconds
        ages = {row.queue: row.oldest_waiting_seconds or 0.0 for row in depths}
        late = sorted(queue for queue, age in ages.items() if age > limit)
        return [
            Check("queues", "oldestWaiting", "component", "warn" if late else "pass",
                  round(max(ages.values(), default=0.0), 3), "s",
                  output=f"waiting over {limit:g} s: {', '.join(late)}" if late else None),
            Check("queues", "waiting", "component", "pass",
                  sum(row.waiting for row in depths)),
            Check("queues", "dead", "component", "pass", sum(row.dead for row in depths)),
        ]

    return check
