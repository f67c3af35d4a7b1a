"""suspected duplicate clients: each open client's blocking keys, the letter/year/ward
frequencies the matcher weighs by, and the candidate pairs with their decisions; outbox
rows for events that are no submission (a merge, its undo)

Revision ID: 0023
Revises: 0021
Create Date: 2026-12-01 17:30:00
"""

from alembic import op
import sqlalchemy as sa
import server.models.types


revision = '0023'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('duplicate_stats',
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('computed_at', server.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_duplicate_stats_dataset_id_datasets')),
    sa.PrimaryKeyConstraint('dataset_id', name=op.f('pk_duplicate_stats'))
    )
    op.create_table('duplicate_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_duplicate_keys_dataset_id_datasets')),
    sa.ForeignKeyConstraint(['entity_id'], ['entities.id'], name=op.f('fk_duplicate_keys_entity_id_entities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duplicate_keys')),
    sa.UniqueConstraint('entity_id', 'key', name=op.f('uq_duplicate_keys_entity_id'))
    )
    with op.batch_alter_table('duplicate_keys', schema=None) as batch_op:
        batch_op.create_index('ix_duplicate_keys_lookup', ['dataset_id', 'key'], unique=False)

    op.create_table('duplicate_pairs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dataset_id', sa.Integer(), nullable=False),
    sa.Column('a_id', sa.Integer(), nullable=False),
    sa.Column('b_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('survivor_id', sa.Integer(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', server.models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('found_at', server.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['a_id'], ['entities.id'], name=op.f('fk_duplicate_pairs_a_id_entities')),
    sa.ForeignKeyConstraint(['b_id'], ['entities.id'], name=op.f('fk_duplicate_pairs_b_id_entities')),
    sa.ForeignKeyConstraint(['dataset_id'], ['datasets.id'], name=op.f('fk_duplicate_pairs_dataset_id_datasets')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['actors.id'], name=op.f('fk_duplicate_pairs_decided_by_id_actors')),
    sa.ForeignKeyConstraint(['survivor_id'], ['entities.id'], name=op.f('fk_duplicate_pairs_survivor_id_entities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duplicate_pairs')),
    sa.UniqueConstraint('a_id', 'b_id', name=op.f('uq_duplicate_pairs_a_id'))
    )
    with op.batch_alter_table('duplicate_pairs', schema=None) as batch_op:
        batch_op.create_index('ix_duplicate_pairs_dataset_state', ['dataset_id', 'state'], unique=False)



    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event', sa.JSON(), nullable=True))
        batch_op.alter_column('submission_version_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('submission_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('form_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM deliveries WHERE submission_version_id IS NULL")
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.alter_column('form_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('submission_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('submission_version_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('event')
    with op.batch_alter_table('duplicate_pairs', schema=None) as batch_op:
        batch_op.drop_index('ix_duplicate_pairs_dataset_state')

    op.drop_table('duplicate_pairs')
    with op.batch_alter_table('duplicate_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_duplicate_keys_lookup')

    op.drop_table('duplicate_keys')
    op.drop_table('duplicate_stats')
