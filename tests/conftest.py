"""Real PostgreSQL for every test: the server named by LIFECEO_TEST_DATABASE_URL (a database of
our own is created on it), or else an embedded one. Tables are emptied before each test."""

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

TEST_DIR = Path(tempfile.mkdtemp(prefix="lifeceo-test-"))
os.environ["LIFECEO_ENV"] = "test"
os.environ["LIFECEO_DATA_DIR"] = str(TEST_DIR / "data")
os.environ.pop("LIFECEO_DATABASE_URL", None)
# Cheap argon2id parameters: the suite registers hundreds of users.
os.environ["LIFECEO_PASSWORD_HASH_TIME_COST"] = "1"
os.environ["LIFECEO_PASSWORD_HASH_MEMORY_KIB"] = "1024"
# Jobs run in-process once the request commits: request-level tests see their effects.
os.environ["LIFECEO_JOBS_INLINE"] = "true"
# Tracked events stay buffered until a test flushes them (app.state.event_buffer.flush()): a
# flush in the background would add its statements to another test's count.
os.environ["LIFECEO_ANALYTICS_FLUSH_INTERVAL_SECONDS"] = "86400"
os.environ["LIFECEO_ANALYTICS_FLUSH_EVENTS"] = "1000000"
os.environ["LIFECEO_ANALYTICS_BUFFER_MAX_EVENTS"] = "1000000"
# Feature flags reload when a change is announced, not on a timer: a periodic reread would add
# its statement to another test's count (tests/integration/platform/flags tests the resync).
os.environ["LIFECEO_FLAGS_RESYNC_SECONDS"] = "86400"
# The metrics history sampler would write every 10 s into other tests' statement counts; its
# tests start samplers of their own.
os.environ["LIFECEO_METRICS_HISTORY_ENABLED"] = "false"
# The monitor would evaluate every 15 s into other tests' tables; its tests run their own.
os.environ["LIFECEO_MONITOR_ENABLED"] = "false"
# Shipped log records wait until GET /admin/logs (or a test) flushes them, for the same reason.
os.environ["LIFECEO_LOG_SHIP_INTERVAL_SECONDS"] = "86400"

from lifeceo.models import Base
from lifeceo.platform.db import migrations
from lifeceo.platform.db.embedded import EmbeddedPostgres
from lifeceo.platform.db.engine import create_engine
from lifeceo.settings import get_settings

REQUIRE_SERVICES = os.environ.get("LIFECEO_TEST_REQUIRE_SERVICES") == "1"
# CI runs the suite twice, against two PostgreSQL servers; what cannot depend on which one runs
# in the first pass only.
SKIP_DATABASE_INDEPENDENT = os.environ.get("LIFECEO_TEST_SKIP_DATABASE_INDEPENDENT") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not SKIP_DATABASE_INDEPENDENT:
        return
    skip = pytest.mark.skip(reason="database-independent: run in the other pass")
    for item in items:
        if item.get_closest_marker("database_independent"):
            item.add_marker(skip)


def _server_database(server_url: str) -> tuple[str, callable]:
    """A fresh database on an external server, dropped at the end of the session."""
    name = f"lifeceo_test_{uuid.uuid4().hex[:8]}"
    admin_url = make_url(server_url).set(drivername="postgresql").render_as_string(False)
    try:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        if REQUIRE_SERVICES:
            raise
        pytest.skip(f"LIFECEO_TEST_DATABASE_URL unreachable: {exc}")

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return make_url(admin_url).set(database=name).render_as_string(False), drop


@pytest.fixture(scope="session")
def database_url() -> str:
    server_url = os.environ.get("LIFECEO_TEST_DATABASE_URL")
    if server_url:
        url, cleanup = _server_database(server_url)
    else:
        embedded = EmbeddedPostgres(TEST_DIR / "embedded")
        url, cleanup = embedded.start(), embedded.stop
    migrations.upgrade(url)
    os.environ["LIFECEO_DATABASE_URL"] = url
    get_settings.cache_clear()
    yield url
    cleanup()
    shutil.rmtree(TEST_DIR, ignore_errors=True)


@pytest.fixture
async def engine(database_url: str):
    """An engine of the test's own, apart from the app's: another process's, as it were."""
    engine = create_engine(get_settings(), database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def app(database_url: str):
    from lifeceo.app import create_app

    application = create_app(get_settings())
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(autouse=True)
async def _empty_tables(request: pytest.FixtureRequest) -> None:
    if "app" not in request.fixturenames:
        return
    application = request.getfixturevalue("app")
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    async with application.state.engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    # Ids repeat after RESTART IDENTITY: cached entries would describe rows that are gone.
    await application.state.cache.clear_local()


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def session(app):
    """A database session for arranging data directly; committed by the test when needed."""
    async with app.state.sessionmaker() as db:
        yield db


from tests.redis_server import redis_server  # noqa: F401  (a fixture for every test)
