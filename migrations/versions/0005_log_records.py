"""log records: the warnings and errors of every process, queryable in one place

Revision ID: 0005
Revises: 0004

Each process kept its last warnings and errors in memory only, so GET /admin/logs showed the one
process that answered. Now every web and job worker ships them here (observability/logs_shipper),
and a periodic job deletes them past their retention and the row cap.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('log_records',
    sa.Column('time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('logger', sa.String(length=200), nullable=True),
    sa.Column('event', sa.Text(), nullable=False),
    sa.Column('request_id', sa.String(length=128), nullable=True),
    sa.Column('trace_id', sa.String(length=32), nullable=True),
    sa.Column('span_id', sa.String(length=16), nullable=True),
    sa.Column('node', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('fields', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_log_records'))
    )
    op.create_index('ix_log_records_request_id', 'log_records', ['request_id'], unique=False)
    op.create_index('ix_log_records_trace_id', 'log_records', ['trace_id'], unique=False)
    op.create_index('ix_log_records_level_time', 'log_records', ['level', 'time'], unique=False)
    op.create_index('ix_log_records_time_id', 'log_records', ['time', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_log_records_time_id', table_name='log_records')
    op.drop_index('ix_log_records_level_time', table_name='log_records')
    op.drop_index('ix_log_records_trace_id', table_name='log_records')
    op.drop_index('ix_log_records_request_id', table_name='log_records')
    op.drop_table('log_records')
