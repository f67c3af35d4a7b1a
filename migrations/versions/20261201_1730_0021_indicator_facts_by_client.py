"""indicator facts by client: the client page reads one client's submissions (its history)
from the facts, by (project, client), and the records merged into it, by (project, gop_vao)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-01 17:30:00
"""

from alembic import op


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('indicator_facts', schema=None) as batch_op:
        batch_op.create_index(
            'ix_indicator_facts_project_client', ['project_id', 'client'], unique=False
        )
        batch_op.create_index(
            'ix_indicator_facts_project_merge', ['project_id', 'gop_vao'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('indicator_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_indicator_facts_project_merge')
        batch_op.drop_index('ix_indicator_facts_project_client')
