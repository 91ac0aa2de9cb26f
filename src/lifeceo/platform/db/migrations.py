"""Apply and inspect Alembic migrations from code (serve, `lifeceo migrate`, readiness)."""

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
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
    # Read directly: MigrationContext logs two lines each time, and readiness runs every few seconds.
    try:
        async with connection.begin_nested():
            rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
    except ProgrammingError:  # never migrated
        return set()
    return {row[0] for row in rows}
