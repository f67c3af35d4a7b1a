"""projects: updated_at and deleted_at, for Central's PATCH and soft DELETE of a project

Revision ID: 0025
Revises: 0023
Create Date: 2026-12-01 22:00:00
"""

from alembic import op
import sqlalchemy as sa
import server.models.types


revision = '0025'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('updated_at', server.models.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deleted_at', server.models.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('updated_at')
