"""digest nonce uses per user, retired app-user keys, login throttle restarted

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-01 10:00:00.000000
"""

from alembic import op
import sqlalchemy as sa
import server.models.types


revision = '0017'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nonce uses live ten minutes: the table is dropped and made again with the user in its key.
    with op.batch_alter_table('digest_nonce_uses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digest_nonce_uses_used_at'))
    op.drop_table('digest_nonce_uses')
    op.create_table('digest_nonce_uses',
    sa.Column('actor_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('nonce', sa.String(length=80), nullable=False),
    sa.Column('nc', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('used_at', server.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('actor_id', 'nonce', 'nc', name=op.f('pk_digest_nonce_uses'))
    )
    with op.batch_alter_table('digest_nonce_uses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digest_nonce_uses_used_at'), ['used_at'], unique=False)

    op.create_table('retired_keys',
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('retired_at', server.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['actors.id'], name=op.f('fk_retired_keys_actor_id_actors')),
    sa.PrimaryKeyConstraint('token_sha256', name=op.f('pk_retired_keys'))
    )
    with op.batch_alter_table('retired_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_retired_keys_actor_id'), ['actor_id'], unique=False)

    # The old lock-out's rows (email:, ip:, guess:) mean nothing to the new throttle.
    op.execute("DELETE FROM login_throttle")


def downgrade() -> None:
    with op.batch_alter_table('retired_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_retired_keys_actor_id'))
    op.drop_table('retired_keys')
    with op.batch_alter_table('digest_nonce_uses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digest_nonce_uses_used_at'))
    op.drop_table('digest_nonce_uses')
    op.create_table('digest_nonce_uses',
    sa.Column('nonce', sa.String(length=80), nullable=False),
    sa.Column('nc', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('used_at', server.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('nonce', 'nc', name=op.f('pk_digest_nonce_uses'))
    )
    with op.batch_alter_table('digest_nonce_uses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digest_nonce_uses_used_at'), ['used_at'], unique=False)
