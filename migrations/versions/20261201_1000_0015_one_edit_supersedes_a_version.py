"""one edit supersedes a version (unique form_id, deprecated_id)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 10:00:00

Concurrent edits naming the same deprecatedID could each commit on PostgreSQL and fork the
submission. This index lets one win. A database where that already happened cannot take the
index: the upgrade stops and names the forked versions, to be resolved by hand first.
"""

from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

INDEX = 'uq_submission_versions_form_id_deprecated_id'


def upgrade() -> None:
    forks = op.get_bind().execute(
        sa.text(
            "SELECT form_id, deprecated_id, COUNT(*) FROM submission_versions "
            "WHERE deprecated_id IS NOT NULL GROUP BY form_id, deprecated_id "
            "HAVING COUNT(*) > 1 ORDER BY form_id, deprecated_id"
        )
    ).all()
    if forks:
        listed = ", ".join(f"form {f} deprecatedID {d} ({n} versions)" for f, d, n in forks[:20])
        raise RuntimeError(
            "Some submission versions were superseded by more than one edit (concurrent "
            f"edits before this fix): {listed}. Keep one edit of each and delete the others "
            "before upgrading."
        )
    with op.batch_alter_table('submission_versions', schema=None) as batch_op:
        batch_op.create_index(INDEX, ['form_id', 'deprecated_id'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('submission_versions', schema=None) as batch_op:
        batch_op.drop_index(INDEX)
