"""Alembic environment: synchronous psycopg, one migrator at a time (advisory lock)."""

from alembic import context
from sqlalchemy import create_engine, text

from lifeceo.models import Base
from lifeceo.platform.db.engine import sqlalchemy_url
from lifeceo.platform.db.migrations import MIGRATION_LOCK_ID, database_url_for_alembic

config = context.config
target_metadata = Base.metadata
# procrastinate's tables come from its own SQL (0002_job_queue), not from our models.
QUEUE_PREFIX = "procrastinate_"


def include_name(name: str | None, type_: str, parent_names: dict) -> bool:
    return not (type_ == "table" and name is not None and name.startswith(QUEUE_PREFIX))


def run_migrations_online() -> None:
    connectable = create_engine(sqlalchemy_url(database_url_for_alembic(config)))
    with connectable.connect() as connection:
        # Several nodes may start at once; the first migrates, the others wait and find head.
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        connection.commit()
        try:
            context.configure(connection=connection, target_metadata=target_metadata,
                              compare_type=True, include_name=include_name)
            with context.begin_transaction():
                context.run_migrations()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": MIGRATION_LOCK_ID})
            connection.commit()
    connectable.dispose()


run_migrations_online()
