"""job queue: procrastinate 3.10.0's schema

Revision ID: 0002
Revises: 0001

Applies the schema SQL shipped in the procrastinate 3.10.0 wheel (procrastinate/sql/schema.sql,
copied unchanged to migrations/procrastinate/schema-3.10.0.sql so that this migration never
changes). Upgrading procrastinate means a new migration applying the files of its
procrastinate/sql/migrations/ newer than 03.04.00, in order.
"""

from pathlib import Path

from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

PROCRASTINATE_VERSION = "3.10.0"
SCHEMA = Path(__file__).resolve().parents[1] / "procrastinate" / f"schema-{PROCRASTINATE_VERSION}.sql"


def _execute_script(sql: str) -> None:
    """Several statements, $$ bodies and % signs: the driver's cursor with no parameters (the
    simple query protocol), in the migration's transaction."""
    with op.get_bind().connection.cursor() as cursor:
        cursor.execute(sql)


def upgrade() -> None:
    _execute_script(SCHEMA.read_text())


def downgrade() -> None:
    _execute_script("""
        DROP TABLE procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs,
                   procrastinate_workers CASCADE;
        DO $$
        DECLARE
            routine regprocedure;
        BEGIN
            FOR routine IN SELECT oid::regprocedure FROM pg_proc
                           WHERE proname LIKE 'procrastinate\\_%'
                             AND pronamespace = current_schema()::regnamespace
            LOOP
                EXECUTE 'DROP FUNCTION ' || routine;
            END LOOP;
        END;
        $$;
        DROP TYPE procrastinate_job_to_defer_v1, procrastinate_job_event_type,
                  procrastinate_job_status;
    """)
