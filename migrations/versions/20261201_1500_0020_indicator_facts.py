"""indicator facts: the typed answers of F1-F7 the indicators count, one row per submission,
filled for the submissions already stored (each current version parsed once)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-01 14:00:00
"""

from alembic import op
import sqlalchemy as sa
import server.models.types


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('indicator_facts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('form', sa.String(length=32), nullable=False),
    sa.Column('instance_id', sa.String(length=255), nullable=False),
    sa.Column('live', sa.Boolean(), nullable=False),
    sa.Column('client', sa.String(length=36), nullable=True),
    sa.Column('referral', sa.String(length=36), nullable=True),
    sa.Column('day', sa.Date(), nullable=True),
    sa.Column('ma_xa', sa.String(length=32), nullable=True),
    sa.Column('ma_tinh', sa.String(length=8), nullable=True),
    sa.Column('mo_hinh', sa.String(length=32), nullable=True),
    sa.Column('submitter_id', sa.Integer(), nullable=True),
    sa.Column('received_at', server.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('changed_at', server.models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('dong_y', sa.String(length=16), nullable=True),
    sa.Column('xu_ly_trung', sa.String(length=16), nullable=True),
    sa.Column('nguon_gioi_thieu', sa.String(length=32), nullable=True),
    sa.Column('co_ma', sa.String(length=16), nullable=True),
    sa.Column('chu_de', sa.Boolean(), nullable=False),
    sa.Column('de_xuat_dv', sa.Boolean(), nullable=False),
    sa.Column('dv', sa.String(length=32), nullable=True),
    sa.Column('han', sa.Date(), nullable=True),
    sa.Column('kq', sa.String(length=32), nullable=True),
    sa.Column('nguon', sa.String(length=32), nullable=True),
    sa.Column('ngay_xn', sa.Date(), nullable=True),
    sa.Column('ngay_dv', sa.Date(), nullable=True),
    sa.Column('kq_hiv', sa.String(length=32), nullable=True),
    sa.Column('bat_dau', sa.String(length=16), nullable=True),
    sa.Column('ngay_bd', sa.Date(), nullable=True),
    sa.Column('tt_hoc', sa.String(length=32), nullable=True),
    sa.Column('tien_vay', sa.Float(), nullable=True),
    sa.Column('ngay_giai_ngan', sa.Date(), nullable=True),
    sa.Column('gap', sa.String(length=16), nullable=True),
    sa.Column('sd_tu_bao', sa.String(length=32), nullable=True),
    sa.Column('viec_lam', sa.String(length=32), nullable=True),
    sa.Column('ho_tro_nhan', sa.String(length=255), nullable=True),
    sa.Column('clb', sa.String(length=16), nullable=True),
    sa.Column('ngay_bd_hoc_nghe', sa.Date(), nullable=True),
    sa.Column('n_tham_gia', sa.Integer(), nullable=True),
    sa.Column('ds', sa.Text(), nullable=True),
    sa.Column('ly_do', sa.String(length=32), nullable=True),
    sa.Column('gop_vao', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_indicator_facts_project_id_projects')),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_indicator_facts_submission_id_submissions')),
    sa.ForeignKeyConstraint(['submitter_id'], ['actors.id'], name=op.f('fk_indicator_facts_submitter_id_actors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicator_facts')),
    sa.UniqueConstraint('submission_id', name=op.f('uq_indicator_facts_submission_id'))
    )
    with op.batch_alter_table('indicator_facts', schema=None) as batch_op:
        batch_op.create_index('ix_indicator_facts_project_form_day', ['project_id', 'form', 'day'], unique=False)
        batch_op.create_index('ix_indicator_facts_project_referral', ['project_id', 'referral'], unique=False)
        batch_op.create_index('ix_indicator_facts_project_changed', ['project_id', 'changed_at'], unique=False)

    # The submissions already stored: their current version's facts (not drafts, not
    # encrypted ones), live unless deleted or rejected.
    from server.services.indicator_facts import backfill

    backfill(op.get_bind())



def downgrade() -> None:
    with op.batch_alter_table('indicator_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_indicator_facts_project_changed')
        batch_op.drop_index('ix_indicator_facts_project_referral')
        batch_op.drop_index('ix_indicator_facts_project_form_day')

    op.drop_table('indicator_facts')
