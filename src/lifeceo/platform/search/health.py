"""Readiness of search: the text search configurations answer a query, and the vocabulary
behind suggestions and "did you mean" has been built. Never `fail`: without search the rest of
the site still serves."""

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
_VOCABULARY = text(
    "SELECT view.ispopulated, greatest(class.reltuples, 0)::bigint FROM pg_matviews view"
    "  JOIN pg_class class ON class.oid = to_regclass(quote_ident(view.schemaname) || '.'"
    "                                                 || quote_ident(view.matviewname))"
    " WHERE view.matviewname = 'search_terms' AND view.schemaname = current_schema()")


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
            vocabulary = (await connection.execute(_VOCABULARY)).first()
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        populated = vocabulary is not None and vocabulary[0]
        return [
            Check("search", "responseTime", "datastore", "warn" if probe_error else "pass",
                  elapsed_ms, "ms", output=probe_error),
            Check("search", "vocabulary", "datastore", "pass" if populated else "warn",
                  vocabulary[1] if populated else 0, "terms",
                  output=None if populated else "not built: run `lifeceo search reindex`"),
        ]

    return check
