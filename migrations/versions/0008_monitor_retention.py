"""monitor retention: resolved incidents are found by when they resolved

Revision ID: 0008
Revises: 0007

The daily monitor-expire job deletes incidents resolved more than monitor_retention_days ago
(with their predictions and actions); a partial index over the resolved ones keeps that
delete from scanning the table.
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_monitor_incidents_resolved_at', 'monitor_incidents', ['resolved_at'], unique=False, postgresql_where=sa.text("state = 'resolved'"))


def downgrade() -> None:
    op.drop_index('ix_monitor_incidents_resolved_at', table_name='monitor_incidents', postgresql_where=sa.text("state = 'resolved'"))
