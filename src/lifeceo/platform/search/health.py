"""Readiness of search: the text search configurations answer a query, and the vocabulary
behind suggestions and "did you mean" has its changes folded. Never `fail`: without search the
rest of the site still serves."""

import time

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from lifeceo.platform.health.checks import Check, CheckFunction
from lifeceo.platform.search.postgres import CONFIGS

# Parsing a query in every configuration: what each search does first, and what breaks when a
# dictionary or the unaccent extension is missing after a restore.
_PROBE = text(
    "SELECT bool_and(numnode(websearch_to_tsquery(config::regconfig, 'música tango')) > 0)"
    "  FROM unnest(CAST(:configs AS text[])) AS config")
# Unfolded changes every correction sums: about a minute of writes while the job runs. Past
# this many (hours of a busy site's writes) the job is not running.
MAX_PENDING_CHANGES = 100_000
# The terms as the planner estimates them (readiness is polled, counting is a scan); the
# pending changes counted, but never past the bound.
_VOCABULARY = text(
    "SELECT greatest(coalesce((SELECT reltuples FROM pg_class"
    "                          WHERE oid = to_regclass('search_term_counts')), 0), 0)::bigint"
    "         AS terms,"
    f"      (SELECT count(*) FROM (SELECT FROM search_term_changes"
    f"                             LIMIT {MAX_PENDING_CHANGES + 1}) AS pending) AS pending")


def search_check(engine: AsyncEngine) -> CheckFunction:
    async def check() -> list[Check]:
        started = time.perf_counter()
        async with engine.connect() as connection:
            try:
                parsed = await connection.scalar(_PROBE, {"configs": list(CONFIGS.values())})
                probe_error = None if parsed else "a configuration parses nothing"
            except DBAPIError as exc:  # a missing configuration is the finding, not a crash
                probe_error = f"{type(exc).__name__}: {exc}".splitlines()[0]
                await connection.rollback()
            vocabulary = (await connection.execute(_VOCABULARY)).one()
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        folded = vocabulary.pending <= MAX_PENDING_CHANGES
        return [
            Check("search", "responseTime", "datastore", "warn" if probe_error else "pass",
                  elapsed_ms, "ms", output=probe_error),
            Check("search", "vocabulary", "datastore", "pass" if folded else "warn",
                  vocabulary.terms, "terms",
                  output=None if folded else f"over {MAX_PENDING_CHANGES} changes not folded: is"
                                             " a job worker running refresh-search-terms?"),
        ]

    return check
