"""Real errors from psycopg and SQLAlchemy, told apart: the database unreachable, or a bad statement."""

import socket

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from lifeceo.app import create_app
from lifeceo.platform.db.engine import sqlalchemy_url
from lifeceo.platform.db.errors import database_unavailable
from lifeceo.platform.db.session import DbSession
from lifeceo.settings import Settings


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


async def unreachable() -> None:
    """Queries a database nobody listens for."""
    engine = create_async_engine(sqlalchemy_url(closed_port_url()))
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


async def divide_by_zero(session: DbSession) -> None:
    await session.execute(text("SELECT 1/0"))


@pytest.fixture
async def failing(app) -> FastAPI:
    """An application with two routes of this test's own that fail in the database."""
    application = create_app(Settings())
    application.add_api_route("/api/v1/test/unreachable", unreachable, methods=["POST"])
    application.add_api_route("/api/v1/test/divide", divide_by_zero, methods=["POST"])
    async with application.router.lifespan_context(application):
        yield application


async def test_an_unreachable_database_is_503_with_retry_after_and_a_bad_statement_500(failing):
    # The 500 as a client gets it, rather than the exception re-raised into the test.
    transport = httpx.ASGITransport(app=failing, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        outage = await http.post("/api/v1/test/unreachable")
        bug = await http.post("/api/v1/test/divide")
    assert outage.status_code == 503
    assert outage.headers["content-type"] == "application/problem+json"
    assert int(outage.headers["retry-after"]) > 0
    assert outage.json()["status"] == 503
    assert bug.status_code == 500 and bug.json()["status"] == 500
