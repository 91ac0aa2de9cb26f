"""The procrastinate installed is the one whose schema the migrations applied."""

import importlib.metadata
import importlib.resources

from lifeceo.platform.db.migrations import migrations_dir


def test_the_installed_procrastinate_schema_is_the_migrated_one():
    installed = importlib.metadata.version("procrastinate")
    vendored = migrations_dir() / "procrastinate" / f"schema-{installed}.sql"
    assert vendored.exists(), (
        f"procrastinate {installed} is installed but not migrated: add a migration applying its "
        "sql/migrations/ files since the last version, and copy its sql/schema.sql to "
        f"{vendored.name}")
    shipped = importlib.resources.files("procrastinate") / "sql" / "schema.sql"
    assert vendored.read_text() == shipped.read_text()
