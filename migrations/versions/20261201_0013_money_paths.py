"""money paths without gaps: a declined pay-out is reassigned (one live order per incoming
order), its store hold is tracked while it waits, the teamlead share is fixed at assignment,
settlement is recorded on the order (reconciliation finds what is missing)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 05:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("incoming_orders", sa.Column("store_hold_reference", sa.String(length=128), nullable=True))
    # pay-outs still waiting for a trader hold the store's USDT under the init reference
    op.execute(
        "UPDATE incoming_orders SET store_hold_reference = 'payout-init:' || id "
        "WHERE direction = 'payout' AND status IN ('new', 'retrying', 'review')"
    )

    op.drop_constraint("uq_order_history_incoming_order_id", "order_history", type_="unique")
    op.create_index(
        "uq_order_history_incoming_order_id_live",
        "order_history",
        ["incoming_order_id"],
        unique=True,
        postgresql_where=sa.text("status <> 'declined'"),
    )

    op.add_column("order_history", sa.Column("teamlead_id", sa.Integer(), nullable=True))
    op.add_column("order_history", sa.Column("teamlead_share", sa.Numeric(precision=5, scale=4), nullable=True))
    op.add_column("order_history", sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("order_history", sa.Column("settlement_error", sa.Text(), nullable=True))
    op.create_foreign_key(op.f("fk_order_history_teamlead_id_users"), "order_history", "users", ["teamlead_id"], ["id"])
    op.create_check_constraint(
        op.f("ck_order_history_teamlead_share_range"), "order_history", "teamlead_share >= 0 AND teamlead_share < 1"
    )
    # orders not settled yet carry the share their trader's teamlead has now (what settlement used before)
    op.execute(
        """
        UPDATE order_history o SET teamlead_id = tp.teamlead_id, teamlead_share = tl.reward_share
        FROM trader_profiles tp JOIN teamlead_profiles tl ON tl.user_id = tp.teamlead_id
        WHERE tp.user_id = o.trader_id
          AND NOT EXISTS (SELECT 1 FROM order_settlements s WHERE s.order_id = o.id)
        """
    )
    op.execute("UPDATE order_history o SET settled_at = s.created_at FROM order_settlements s WHERE s.order_id = o.id")
    op.create_index(
        "ix_order_history_unsettled",
        "order_history",
        ["completed_at"],
        unique=False,
        postgresql_where=sa.text("status = 'completed' AND settled_at IS NULL AND settlement_error IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_order_history_unsettled", table_name="order_history")
    op.drop_constraint(op.f("ck_order_history_teamlead_share_range"), "order_history", type_="check")
    op.drop_constraint(op.f("fk_order_history_teamlead_id_users"), "order_history", type_="foreignkey")
    op.drop_column("order_history", "settlement_error")
    op.drop_column("order_history", "settled_at")
    op.drop_column("order_history", "teamlead_share")
    op.drop_column("order_history", "teamlead_id")
    op.drop_index("uq_order_history_incoming_order_id_live", table_name="order_history")
    op.create_unique_constraint("uq_order_history_incoming_order_id", "order_history", ["incoming_order_id"])
    op.drop_column("incoming_orders", "store_hold_reference")
