"""password resets, TOTP second factor and recovery codes, Digest opt-in

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 10:00:00

Existing accounts keep Digest working: every user that has an HA1 gets uses_digest on (an
administrator turns it off, which wipes the HA1, for accounts that never use ODK Collect).
"""

from alembic import op
import sqlalchemy as sa
import server.models.types


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('password_resets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', server.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', server.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', server.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['actors.id'], name=op.f('fk_password_resets_actor_id_actors')),
    sa.ForeignKeyConstraint(['created_by_id'], ['actors.id'], name=op.f('fk_password_resets_created_by_id_actors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_resets')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_password_resets_token_sha256'))
    )
    with op.batch_alter_table('password_resets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_resets_actor_id'), ['actor_id'], unique=False)

    op.create_table('totp_factors',
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('secret_encrypted', sa.String(length=255), nullable=False),
    sa.Column('created_at', server.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', server.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_step', sa.Integer(), server_default='0', nullable=False),
    sa.Column('failures', sa.Integer(), server_default='0', nullable=False),
    sa.Column('locked_until', server.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['actors.id'], name=op.f('fk_totp_factors_actor_id_actors')),
    sa.PrimaryKeyConstraint('actor_id', name=op.f('pk_totp_factors'))
    )
    op.create_table('recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('code_sha256', sa.String(length=64), nullable=False),
    sa.Column('used_at', server.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['actors.id'], name=op.f('fk_recovery_codes_actor_id_actors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes')),
    sa.UniqueConstraint('code_sha256', name=op.f('uq_recovery_codes_code_sha256'))
    )
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_codes_actor_id'), ['actor_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uses_digest', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.alter_column('digest_ha1', existing_type=sa.String(length=32), nullable=True)
    # Existing accounts keep Digest working (the README says how to turn it off).
    op.execute("UPDATE users SET uses_digest = true WHERE digest_ha1 IS NOT NULL AND digest_ha1 <> ''")

    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('factor_pending', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_column('factor_pending')

    # Accounts whose HA1 was wiped get an empty one back (Digest stays refused for them).
    op.execute("UPDATE users SET digest_ha1 = '' WHERE digest_ha1 IS NULL")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('digest_ha1', existing_type=sa.String(length=32), nullable=False)
        batch_op.drop_column('uses_digest')

    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_codes_actor_id'))
    op.drop_table('recovery_codes')
    op.drop_table('totp_factors')
    with op.batch_alter_table('password_resets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_resets_actor_id'))
    op.drop_table('password_resets')
