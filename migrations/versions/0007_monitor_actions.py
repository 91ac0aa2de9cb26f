"""monitor actions: each remediation attempt on an incident and how it turned out

Revision ID: 0007
Revises: 0006

The monitor's leader answers a detection with an action that pulls a runtime lever (automatic
when low-risk, after an administrator's approval otherwise) and verifies it; its history is in
the database so that cooldowns and hourly caps survive a change of leader (platform/monitor).
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('monitor_actions',
    sa.Column('incident_id', sa.BigInteger(), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('fingerprint', sa.String(length=200), nullable=False),
    sa.Column('lever', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=128), nullable=False),
    sa.Column('outcome', sa.String(length=24), nullable=False),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['monitor_incidents.id'], name=op.f('fk_monitor_actions_incident_id_monitor_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitor_actions'))
    )
    op.create_index('ix_monitor_actions_incident_id', 'monitor_actions', ['incident_id'], unique=False)
    op.create_index('ix_monitor_actions_outcome', 'monitor_actions', ['outcome'], unique=False)
    op.create_index('ix_monitor_actions_proposed_at', 'monitor_actions', ['proposed_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_monitor_actions_proposed_at', table_name='monitor_actions')
    op.drop_index('ix_monitor_actions_outcome', table_name='monitor_actions')
    op.drop_index('ix_monitor_actions_incident_id', table_name='monitor_actions')
    op.drop_table('monitor_actions')
