"""Statement statistics from pg_stat_statements: read where the server keeps them, and where it
does not, a reason instead of an error."""

import pytest
from sqlalchemy import text, update
from tests.factories import user

from lifeceo.community.users.models import User
from lifeceo.platform.db.embedded import EmbeddedPostgres
from lifeceo.platform.db.engine import create_engine
from lifeceo.platform.observability import statements
from lifeceo.settings import get_settings

STATEMENTS = "/api/v1/admin/statements"
MARKER = "SELECT 4242 AS statement_statistics_marker"


async def run_marker(engine, times: int) -> None:
    async with engine.connect() as connection:
        for _ in range(times):
            await connection.execute(text(MARKER))


def marked(reading: statements.StatementsReading) -> list[statements.StatementStats]:
    return [stats for stats in reading.statements if "statement_statistics_marker" in stats.query]


@pytest.mark.slow
@pytest.mark.database_independent
async def test_the_embedded_server_keeps_statistics_of_every_statement(tmp_path):
    server = EmbeddedPostgres(tmp_path)
    engine = create_engine(get_settings(), server.start())
    try:
        before = await statements.read(engine, limit=100)
        assert before.available, before.reason
        await run_marker(engine, 7)
        after = await statements.read(engine, order="calls", limit=100)
        [marker] = marked(after)
        # The literal is a parameter in the normalised text: one entry for every value.
        assert "$1" in marker.query and marker.calls >= 7
        assert 0 <= marker.mean_ms <= marker.max_ms
        async with engine.begin() as connection:
            await connection.execute(text("DROP EXTENSION pg_stat_statements"))
        gone = await statements.read(engine)
        assert (gone.available, gone.reason, gone.statements) == (
            False, statements.NOT_CREATED, [])
    finally:
        await engine.dispose()
        server.stop()


async def test_a_server_without_the_library_loaded_gives_the_reason(engine):
    preloaded = await _preloaded(engine)
    if preloaded:
        reading = await statements.read(engine)
        assert reading.available and reading.reason is None
        return
    # The machine's server: created in the test database, yet not loaded by the server.
    async with engine.begin() as connection:
        await connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
    try:
        reading = await statements.read(engine)
        assert (reading.available, reading.reason) == (False, statements.NOT_PRELOADED_REASON)
    finally:
        async with engine.begin() as connection:
            await connection.execute(text("DROP EXTENSION pg_stat_statements"))


async def test_administrators_read_the_busiest_statements(client, session, app):
    visitor = await user(client, "statements_visitor")
    assert (await client.get(STATEMENTS, headers=visitor)).status_code == 403
    admin = await user(client, "statements_admin")
    await session.execute(update(User).where(User.username == "statements_admin")
                          .values(is_admin=True))
    await session.commit()
    if await _preloaded(app.state.engine):
        # The suite's thousands of statements would push three calls out of the top 100.
        async with app.state.engine.connect() as connection:
            await connection.execute(text("SELECT pg_stat_statements_reset()"))
    await run_marker(app.state.engine, 3)
    response = await client.get(STATEMENTS, params={"order": "calls", "limit": 100},
                                headers=admin)
    assert response.status_code == 200, response.text
    report = response.json()
    if await _preloaded(app.state.engine):
        assert report["available"] and any(
            "statement_statistics_marker" in item["query"] for item in report["items"])
    else:
        assert (report["available"], report["items"]) == (False, [])
        assert report["reason"] == statements.NOT_CREATED
    for params in ({"order": "slowest"}, {"limit": 0}, {"limit": 101}):
        assert (await client.get(STATEMENTS, params=params, headers=admin)).status_code == 422


async def _preloaded(engine) -> bool:
    async with engine.connect() as connection:
        libraries = await connection.scalar(text("SHOW shared_preload_libraries"))
    return "pg_stat_statements" in libraries
