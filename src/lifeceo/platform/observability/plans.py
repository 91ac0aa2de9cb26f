"""A normalised statement's plan without running it, and the indexes its sequential scans ask for.

pg_stat_statements keeps statements with their constants replaced by $1, $2...; PostgreSQL 16
explains such a text with EXPLAIN (GENERIC_PLAN). Before 16 it is prepared with its parameters'
types left for the server to infer, and its generic plan (plan_cache_mode force_generic_plan)
explained with NULL for each: a custom plan for NULLs would fold `k = NULL` to nothing. Both run
in a read-only transaction under a short timeout; EXPLAIN without ANALYZE executes nothing."""

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from lifeceo.platform.db.errors import database_unavailable

# Planning a statement takes milliseconds; one that takes longer is not worth the wait.
EXPLAIN_TIMEOUT_MS = 2000
GENERIC_PLAN_VERSION = 160000
PREPARED = "lifeceo_explain"
# The columns an index suggestion takes from a filter: those compared with = first (they go
# first in a B-tree), then ranges; three at most, as a reader would write it.
EQUALITY, RANGE = ("=", "IS NULL", "= ANY"), ("<", ">", "<=", ">=")
MAX_INDEX_COLUMNS = 3
# `t.k = $1`, `"Tag" IS NULL`, `k >= $2` in a plan's Filter (VERBOSE qualifies the columns).
COMPARED = re.compile(r'(?:"?(\w+)"?\.)?"?(\w+)"?\s*(= ANY|IS NULL|<=|>=|<>|!=|=|<|>)')
PLAIN_NAME = re.compile(r"[a-z_][a-z0-9_]*")


@dataclass(frozen=True)
class Plan:
    available: bool
    reason: str | None = None
    # generic_plan (16+), prepared (a generic plan of the prepared text), plain (no parameters).
    method: str | None = None
    # EXPLAIN (FORMAT JSON)'s top node, and the same plan as text for a reader.
    tree: dict[str, Any] | None = None
    text: str | None = None


@dataclass(frozen=True)
class SeqScan:
    schema: str
    relation: str
    filter: str
    rows: float
    cost: float
    # Its filter's columns that an index could serve, in index order.
    columns: list[str] = field(default_factory=list)

    @property
    def index(self) -> str | None:
        """The candidate index's table and columns, `public.posts (author_id)`."""
        if not self.columns:
            return None
        columns = ", ".join(map(quoted, self.columns))
        return f"{quoted(self.schema)}.{quoted(self.relation)} ({columns})"


def quoted(name: str) -> str:
    return name if PLAIN_NAME.fullmatch(name) else '"' + name.replace('"', '""') + '"'


async def explain(engine: AsyncEngine, query: str) -> Plan:
    """The plan of `query` (a pg_stat_statements text), or why there is none."""
    query = query.strip().rstrip(";")
    if ";" in query:
        # Sent without parameters, a text with two statements would run both.
        return Plan(available=False, reason="the text holds more than one statement")
    async with engine.connect() as connection:
        version = int(await connection.scalar(text("SHOW server_version_num")))
        await connection.commit()
        prepared = version < GENERIC_PLAN_VERSION and "$" in query
        try:
            async with connection.begin():
                await connection.exec_driver_sql("SET TRANSACTION READ ONLY")
                await connection.exec_driver_sql(
                    f"SET LOCAL statement_timeout = {EXPLAIN_TIMEOUT_MS}")
                if version >= GENERIC_PLAN_VERSION:
                    method, options, explained = "generic_plan", "GENERIC_PLAN, VERBOSE", query
                elif prepared:
                    method, options = "prepared", "VERBOSE"
                    explained = await _prepare(connection, query)
                else:
                    method, options, explained = "plain", "VERBOSE", query
                tree = (await connection.exec_driver_sql(
                    f"EXPLAIN ({options}, FORMAT JSON) {explained}")).scalar()
                # Without VERBOSE for a reader: the JSON's column lists would bury the plan.
                # Options in parentheses always, so that a text starting with ANALYZE cannot
                # make it EXPLAIN ANALYZE (which executes; read-only stops writes even then).
                lines = (await connection.exec_driver_sql(
                    f"EXPLAIN ({'GENERIC_PLAN' if method == 'generic_plan' else 'COSTS'}) "
                    f"{explained}")).scalars().all()
        except DBAPIError as exc:
            if database_unavailable(exc):
                raise
            return Plan(available=False, reason=f"not explained: {_first_line(exc)}")
        finally:
            if prepared:
                await _deallocate(connection)
    return Plan(available=True, method=method, tree=tree[0]["Plan"], text="\n".join(lines))


async def _prepare(connection: AsyncConnection, query: str) -> str:
    """EXECUTE of `query` prepared, with NULL for each parameter, planned generically."""
    await connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    await connection.exec_driver_sql(f"PREPARE {PREPARED} AS {query}")
    count = await connection.scalar(text(
        "SELECT cardinality(parameter_types) FROM pg_prepared_statements WHERE name = :name"),
        {"name": PREPARED})
    return f"EXECUTE {PREPARED}({', '.join(['NULL'] * count)})"


async def _deallocate(connection: AsyncConnection) -> None:
    # A prepared statement outlives its transaction, and the connection goes back to the pool.
    try:
        if await connection.scalar(text(
                "SELECT count(*) FROM pg_prepared_statements WHERE name = :name"),
                {"name": PREPARED}):
            await connection.exec_driver_sql(f"DEALLOCATE {PREPARED}")
        await connection.commit()
    except DBAPIError:
        await connection.invalidate()


def _first_line(exc: DBAPIError) -> str:
    return str(getattr(exc, "orig", exc)).splitlines()[0][:300]


def seq_scans(tree: dict[str, Any]) -> list[SeqScan]:
    """The plan's sequential scans that filter rows, costliest first, without their columns."""
    found = []
    pending = [tree]
    while pending:
        node = pending.pop()
        pending.extend(node.get("Plans", []))
        if node.get("Node Type") == "Seq Scan" and node.get("Filter"):
            found.append(SeqScan(schema=node.get("Schema", "public"),
                                 relation=node["Relation Name"], filter=node["Filter"],
                                 rows=float(node.get("Plan Rows", 0)),
                                 cost=float(node.get("Total Cost", 0)),
                                 columns=_compared(node["Filter"], alias=node.get("Alias"))))
    return sorted(found, key=lambda scan: -scan.cost)


def _compared(condition: str, *, alias: str | None) -> list[str]:
    """The columns of the scanned table compared in `condition`: equalities, then ranges."""
    ranked: dict[str, int] = {}
    for qualifier, column, operator in COMPARED.findall(condition):
        if qualifier and alias and qualifier != alias:
            continue  # another table's column (a join filter)
        rank = 0 if operator in EQUALITY else 1 if operator in RANGE else None
        if rank is not None and column.lower() not in ("null", "true", "false"):
            ranked[column] = min(ranked.get(column, rank), rank)
    return sorted(ranked, key=lambda column: ranked[column])


def with_columns(scan: SeqScan, columns: set[str]) -> SeqScan:
    """`scan` with only the compared names that are columns of its table (a function's or a
    parameter's name may look like one), at most MAX_INDEX_COLUMNS."""
    kept = [column for column in scan.columns if column in columns]
    return SeqScan(scan.schema, scan.relation, scan.filter, scan.rows, scan.cost,
                   list(itertools.islice(kept, MAX_INDEX_COLUMNS)))


async def table_columns(engine: AsyncEngine, *, schema: str, relation: str) -> set[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(text(
            "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema"
            " AND c.relname = :relation AND a.attnum > 0 AND NOT a.attisdropped"),
            {"schema": schema, "relation": relation})
        return {row[0] for row in rows}
