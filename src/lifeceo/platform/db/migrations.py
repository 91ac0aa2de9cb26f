"""Apply and inspect Alembic migrations from code (serve, `lifeceo migrate`, readiness)."""

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncConnection

# Any constant shared by every lifeceo node; taken with pg_advisory_lock while migrating.
MIGRATION_LOCK_ID = 0x11FEC0


def migrations_dir() -> Path:
    return Path(__file__).resolve().parents[4] / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["database_url"] = database_url
    return config


def database_url_for_alembic(config: Config) -> str:
    url = config.attributes.get("database_url") or os.environ.get("LIFECEO_DATABASE_URL")
    if not url:
        raise RuntimeError("no database URL: set LIFECEO_DATABASE_URL")
    return url


def upgrade(database_url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(database_url), revision)


def head_revisions() -> set[str]:
    return set(ScriptDirectory(str(migrations_dir())).get_heads())


async def current_revisions(connection: AsyncConnection) -> set[str]:
    def read(sync_connection) -> set[str]:
        return set(MigrationContext.configure(sync_connection).get_current_heads())

    return await connection.run_sync(read)
