"""The async engine and the session factory: one pool per process."""

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from lifeceo.settings import Settings


def sqlalchemy_url(url: str) -> str:
    """Any postgres:// or postgresql:// URL, pointed at the psycopg 3 driver."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def create_engine(settings: Settings, url: str) -> AsyncEngine:
    connect_args: dict[str, object] = {}
    if settings.database_pgbouncer:
        # PgBouncer rejects the `options` startup parameter; set both on the role.
        connect_args["prepare_threshold"] = None
    else:
        # JIT off: it pays for queries that read millions of rows, and none here does. Search
        # statements' estimates passed jit_above_cost, and compiling then took 49 ms of a 183 ms
        # search (EXPLAIN ANALYZE, 100k posts) to save nothing.
        connect_args["options"] = (f"-c statement_timeout={settings.database_statement_timeout_ms}"
                                   " -c jit=off")
    engine = create_async_engine(
        sqlalchemy_url(url),
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_pool_overflow,
        pool_timeout=settings.database_pool_timeout_seconds,
        # A connection PostgreSQL or PgBouncer closed is replaced instead of failing a request.
        pool_pre_ping=True,
        connect_args=connect_args,
    )
    if settings.metrics_enabled or settings.profiles_enabled:
        # Every statement of every engine the processes create, timed once, for
        # lifeceo_db_query_duration_seconds and the request profiles (whichever is on).
        from lifeceo.platform.observability.metrics_db import instrument_engine

        instrument_engine(engine, histogram=settings.metrics_enabled,
                          profiles=settings.profiles_enabled)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
