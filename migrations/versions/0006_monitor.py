"""monitor: incidents, their timelines, predictions, and each detector's last evaluation

Revision ID: 0006
Revises: 0005

The monitor's leader evaluates the detectors over the metrics history every interval; what it
finds becomes an incident per fingerprint (at most one unresolved, by a partial unique index),
with a timeline, the forecasts made for it and how they turned out (platform/monitor).
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('monitor_detectors',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('evaluated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('leader', sa.String(length=128), nullable=False),
    sa.Column('duration_ms', sa.Float(), nullable=False),
    sa.Column('detections', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('baseline', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_monitor_detectors'))
    )
    op.create_table('monitor_incidents',
    sa.Column('fingerprint', sa.String(length=200), nullable=False),
    sa.Column('detector', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('evidence', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('detections', sa.Integer(), nullable=False),
    sa.Column('mitigated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitor_incidents'))
    )
    op.create_index('ix_monitor_incidents_opened_at_id', 'monitor_incidents', ['opened_at', 'id'], unique=False)
    op.create_index('ix_monitor_incidents_state', 'monitor_incidents', ['state'], unique=False)
    op.create_index('uq_monitor_incidents_fingerprint_unresolved', 'monitor_incidents', ['fingerprint'], unique=True, postgresql_where=sa.text("state <> 'resolved'"))
    op.create_table('monitor_predictions',
    sa.Column('incident_id', sa.BigInteger(), nullable=True),
    sa.Column('detector', sa.String(length=64), nullable=False),
    sa.Column('series', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=64), nullable=False),
    sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('limit_value', sa.Float(), nullable=False),
    sa.Column('rising', sa.Boolean(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('earliest', sa.Float(), nullable=False),
    sa.Column('latest', sa.Float(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('judged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['monitor_incidents.id'], name=op.f('fk_monitor_predictions_incident_id_monitor_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitor_predictions'))
    )
    op.create_index('ix_monitor_predictions_made_at_id', 'monitor_predictions', ['made_at', 'id'], unique=False)
    op.create_index('ix_monitor_predictions_outcome', 'monitor_predictions', ['outcome'], unique=False)
    op.create_table('monitor_timeline',
    sa.Column('incident_id', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['monitor_incidents.id'], name=op.f('fk_monitor_timeline_incident_id_monitor_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_monitor_timeline'))
    )
    op.create_index('ix_monitor_timeline_incident_id_at', 'monitor_timeline', ['incident_id', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_monitor_timeline_incident_id_at', table_name='monitor_timeline')
    op.drop_table('monitor_timeline')
    op.drop_index('ix_monitor_predictions_outcome', table_name='monitor_predictions')
    op.drop_index('ix_monitor_predictions_made_at_id', table_name='monitor_predictions')
    op.drop_table('monitor_predictions')
    op.drop_index('uq_monitor_incidents_fingerprint_unresolved', table_name='monitor_incidents', postgresql_where=sa.text("state <> 'resolved'"))
    op.drop_index('ix_monitor_incidents_state', table_name='monitor_incidents')
    op.drop_index('ix_monitor_incidents_opened_at_id', table_name='monitor_incidents')
    op.drop_table('monitor_incidents')
    op.drop_table('monitor_detectors')
