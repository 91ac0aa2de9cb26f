"""Real errors from psycopg and SQLAlchemy, told apart: the database unreachable, or a bad statement."""

import socket

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from lifeceo.platform.db.engine import sqlalchemy_url
from lifeceo.platform.db.errors import database_unavailable


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"postgresql://postgres@127.0.0.1:{port}/lifeceo"


async def test_a_refused_connection_is_unavailable_raw_and_wrapped():
    url = closed_port_url()
    with pytest.raises(psycopg.OperationalError) as raw:
        await psycopg.AsyncConnection.connect(url)
    assert database_unavailable(raw.value)
    engine = create_async_engine(sqlalchemy_url(url))
    try:
        with pytest.raises(DBAPIError) as wrapped:
            async with engine.connect():
                pass
    finally:
        await engine.dispose()
    assert database_unavailable(wrapped.value)
    # Raised from it, as procrastinate's ConnectorException is.
    try:
        raise RuntimeError("Database error.") from wrapped.value
    except RuntimeError as chained:
        assert database_unavailable(chained)


async def test_a_connection_ended_mid_transaction_is_unavailable(engine, database_url):
    async with engine.connect() as connection:
        pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as admin:
            await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(DBAPIError) as lost:
            await connection.execute(text("SELECT 1"))
    assert database_unavailable(lost.value)


async def test_a_closed_connection_is_unavailable(database_url):
    connection = await psycopg.AsyncConnection.connect(database_url)
    await connection.close()
    with pytest.raises(psycopg.Error) as closed:
        await connection.execute("SELECT 1")
    assert database_unavailable(closed.value)


@pytest.mark.parametrize("statement", [
    "SELECT 1/0",
    "SELECT * FROM no_such_table",
    "SET LOCAL statement_timeout = 1; SELECT pg_sleep(1)",
    "CREATE TEMP TABLE once (id int PRIMARY KEY); INSERT INTO once VALUES (1), (1)",
])
async def test_a_failing_statement_is_not_an_outage(engine, statement):
    async with engine.connect() as connection:
        with pytest.raises(DBAPIError) as failed:
            for part in statement.split("; "):
                await connection.execute(text(part))
    assert not database_unavailable(failed.value)
