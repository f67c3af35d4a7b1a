"""plan targets (kế hoạch): planned numbers per indicator, scope and period

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 14:00:00
"""

from alembic import op
import sqlalchemy as sa
import server.models.types


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('plan_targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('scope_kind', sa.String(length=16), nullable=False),
    sa.Column('scope_value', sa.String(length=32), nullable=False),
    sa.Column('indicator', sa.String(length=32), nullable=False),
    sa.Column('period_kind', sa.String(length=8), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('planned', sa.Float(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', server.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_plan_targets_project_id_projects')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['actors.id'], name=op.f('fk_plan_targets_updated_by_id_actors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_targets')),
    sa.UniqueConstraint('project_id', 'scope_kind', 'scope_value', 'indicator', 'period_kind', 'period_start', name=op.f('uq_plan_targets_project_id'))
    )
    with op.batch_alter_table('plan_targets', schema=None) as batch_op:
        batch_op.create_index('ix_plan_targets_project_period', ['project_id', 'period_start'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('plan_targets', schema=None) as batch_op:
        batch_op.drop_index('ix_plan_targets_project_period')
    op.drop_table('plan_targets')
