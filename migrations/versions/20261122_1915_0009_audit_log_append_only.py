"""audit log append-only: triggers refuse UPDATE and DELETE on audits

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 19:15:00
"""

from alembic import op

from server.models import audits

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _statements(sqlite: tuple[str, ...], postgresql: tuple[str, ...]) -> tuple[str, ...]:
    return sqlite if op.get_bind().dialect.name == "sqlite" else postgresql


def upgrade() -> None:
    for statement in _statements(audits.APPEND_ONLY_SQLITE, audits.APPEND_ONLY_POSTGRESQL):
        op.execute(statement)


def downgrade() -> None:
    for statement in _statements(audits.DROP_SQLITE, audits.DROP_POSTGRESQL):
        op.execute(statement)
