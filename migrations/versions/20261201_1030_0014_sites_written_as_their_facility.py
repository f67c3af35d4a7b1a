"""sites written as their facility (phones set up with VCT-01 serve the facility stored vct-01)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 10:30:00.000000

Facility codes were lower-cased when they became entity names (VCT-01 -> vct-01), so the
referrals made since name `vct-01` while phones were set up with `VCT-01`. Facility names now
keep their case, and a phone's site codes are written as the facility list writes them; this
rewrites the sites already stored the same way (data only, no schema change).
"""

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    facilities = {}
    for project_id, name in conn.execute(
        sa.text(
            "SELECT d.project_id, e.uuid FROM entities e JOIN datasets d ON d.id = e.dataset_id "
            "WHERE d.name = 'facilities' AND e.deleted_at IS NULL"
        )
    ):
        facilities.setdefault((project_id, name.casefold()), name)
    rows = conn.execute(
        sa.text(
            "SELECT s.id, s.actor_id, s.site, a.project_id FROM app_user_sites s "
            "JOIN app_users a ON a.actor_id = s.actor_id ORDER BY s.id"
        )
    ).all()
    kept = {(r.actor_id, r.site) for r in rows}
    for row in rows:
        written = facilities.get((row.project_id, row.site.casefold()))
        if written is None or written == row.site:
            continue
        kept.discard((row.actor_id, row.site))
        if (row.actor_id, written) in kept:  # the phone has that facility already
            conn.execute(sa.text("DELETE FROM app_user_sites WHERE id = :id"), {"id": row.id})
        else:
            conn.execute(
                sa.text("UPDATE app_user_sites SET site = :site WHERE id = :id"),
                {"site": written, "id": row.id},
            )
            kept.add((row.actor_id, written))


def downgrade() -> None:
    # Irreversible: the codes as first typed are not kept, and the rewritten ones are right.
    pass
