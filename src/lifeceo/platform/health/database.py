"""Readiness of PostgreSQL: it answers, and its schema is at the migrations' head."""

import time

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from lifeceo.platform.db.migrations import current_revisions, head_revisions
from lifeceo.platform.health.checks import Check, CheckFunction


def database_check(engine: AsyncEngine) -> CheckFunction:
    heads = head_revisions()

    async def check() -> list[Check]:
        started = time.perf_counter()
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
            current = await current_revisions(connection)
        at_head = current == heads
        return [
            Check("database", "responseTime", "datastore", "pass", elapsed_ms, "ms"),
            Check("database", "migrations", "datastore", "pass" if at_head else "fail",
                  sorted(current), output=None if at_head else f"expected {sorted(heads)}"),
        ]

    return check
