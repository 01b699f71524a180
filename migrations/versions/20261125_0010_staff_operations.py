"""staff operations: disputes, notes, fraud clearance, teamlead reward share, stats rollups

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 18:54:42.417182+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_daily_stats",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("trader_id", sa.Integer(), nullable=False),
        sa.Column("payment_method_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("canceled", sa.Integer(), nullable=False),
        sa.Column("disputed", sa.Integer(), nullable=False),
        sa.Column("turnover", sa.BigInteger(), nullable=False),
        sa.Column("platform_profit", sa.BigInteger(), nullable=False),
        sa.Column("confirm_seconds", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_daily_stats")),
        sa.UniqueConstraint(
            "day",
            "store_id",
            "trader_id",
            "payment_method_id",
            "direction",
            "currency",
            name=op.f("uq_order_daily_stats_day_store_id_trader_id_payment_method_id_direction_currency"),
        ),
    )
    op.create_index("ix_order_daily_stats_trader_id_day", "order_daily_stats", ["trader_id", "day"], unique=False)
    op.create_table(
        "rollup_watermarks",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "details", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rollup_watermarks")),
    )
    op.create_table(
        "order_disputes",
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("priority", sa.String(length=8), server_default="normal", nullable=False),
        sa.Column("party", sa.String(length=16), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("sla_deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("resolution_comment", sa.Text(), nullable=True),
        sa.Column(
            "evidence", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False
        ),
        sa.CheckConstraint("priority IN ('high', 'normal', 'low')", name=op.f("ck_order_disputes_priority_known")),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution IN ('completed', 'canceled')",
            name=op.f("ck_order_disputes_resolution_known"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["order_history.id"], name=op.f("fk_order_disputes_order_id_order_history")
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_order_disputes")),
    )
    op.create_index(
        "ix_order_disputes_open",
        "order_disputes",
        ["sla_deadline"],
        unique=False,
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
    op.create_table(
        "order_notes",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["order_history.id"], name=op.f("fk_order_notes_order_id_order_history")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_notes")),
    )
    op.create_index("ix_order_notes_order_id", "order_notes", ["order_id"], unique=False)
    op.add_column("incoming_orders", sa.Column("fraud_cleared_by", sa.String(length=64), nullable=True))
    op.create_index("ix_order_history_updated_at", "order_history", ["updated_at"], unique=False)
    op.create_index("ix_order_settlements_created_at", "order_settlements", ["created_at"], unique=False)
    op.add_column(
        "teamlead_profiles",
        sa.Column("reward_share", sa.Numeric(precision=5, scale=4), server_default=sa.text("0"), nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_teamlead_profiles_reward_share_range"), "teamlead_profiles", "reward_share >= 0 AND reward_share < 1"
    )
    # orders already in dispute get their dispute row (normal priority, the default SLA)
    op.execute(
        """
        INSERT INTO order_disputes (order_id, priority, party, opened_by, reason, opened_at, sla_deadline)
        SELECT o.id, 'normal', coalesce(c.party, 'system'), coalesce(c.actor, 'system:migration'), c.reason,
               coalesce(c.created_at, o.updated_at), coalesce(c.created_at, o.updated_at) + interval '120 minutes'
        FROM order_history o
        LEFT JOIN LATERAL (
            SELECT party, actor, reason, created_at FROM order_status_history
            WHERE order_id = o.id AND to_status = 'disputed' ORDER BY id DESC LIMIT 1
        ) c ON true
        WHERE o.status = 'disputed'
        """
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_teamlead_profiles_reward_share_range"), "teamlead_profiles", type_="check")
    op.drop_column("teamlead_profiles", "reward_share")
    op.drop_index("ix_order_settlements_created_at", table_name="order_settlements")
    op.drop_index("ix_order_history_updated_at", table_name="order_history")
    op.drop_column("incoming_orders", "fraud_cleared_by")
    op.drop_index("ix_order_notes_order_id", table_name="order_notes")
    op.drop_table("order_notes")
    op.drop_index(
        "ix_order_disputes_open", table_name="order_disputes", postgresql_where=sa.text("resolved_at IS NULL")
    )
    op.drop_table("order_disputes")
    op.drop_table("rollup_watermarks")
    op.drop_index("ix_order_daily_stats_trader_id_day", table_name="order_daily_stats")
    op.drop_table("order_daily_stats")
