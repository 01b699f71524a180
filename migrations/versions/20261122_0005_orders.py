"""orders: incoming orders, requisite usage counters, open amounts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 14:49:38.871982+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incoming_orders",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payment_method_id", sa.Integer(), nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=True),
        sa.Column("merchant_order_id", sa.String(length=128), nullable=False),
        sa.Column("client_id", sa.String(length=128), nullable=True),
        sa.Column("client_ip", postgresql.INET(), nullable=True),
        sa.Column("client_card_bin", sa.String(length=8), nullable=True),
        sa.Column("callback_url", sa.String(length=2048), nullable=True),
        sa.Column("return_url", sa.String(length=2048), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="new", nullable=False),
        sa.Column("retry_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("failure_reason", sa.String(length=256), nullable=True),
        sa.Column("order_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("direction IN ('payin', 'payout')", name=op.f("ck_incoming_orders_direction_known")),
        sa.CheckConstraint(
            "status IN ('new', 'retrying', 'assigned', 'failed', 'rejected', 'review')",
            name=op.f("ck_incoming_orders_status_known"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_incoming_orders_amount_positive")),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"], name=op.f("fk_incoming_orders_bank_id_banks")),
        sa.ForeignKeyConstraint(
            ["currency"], ["fiat_currencies.code"], name=op.f("fk_incoming_orders_currency_fiat_currencies")
        ),
        sa.ForeignKeyConstraint(
            ["payment_method_id"],
            ["payment_methods.id"],
            name=op.f("fk_incoming_orders_payment_method_id_payment_methods"),
        ),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_incoming_orders_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incoming_orders")),
        sa.UniqueConstraint(
            "store_id", "merchant_order_id", name=op.f("uq_incoming_orders_store_id_merchant_order_id")
        ),
    )
    op.create_index("ix_incoming_orders_client_id_status", "incoming_orders", ["client_id", "status"], unique=False)
    op.create_index(
        "ix_incoming_orders_due",
        "incoming_orders",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('new', 'retrying')"),
    )
    op.create_table(
        "requisite_daily_usage",
        sa.Column("requisite_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("turnover", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("orders", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint("turnover >= 0 AND orders >= 0", name=op.f("ck_requisite_daily_usage_non_negative")),
        sa.ForeignKeyConstraint(
            ["requisite_id"], ["requisites.id"], name=op.f("fk_requisite_daily_usage_requisite_id_requisites")
        ),
        sa.PrimaryKeyConstraint("requisite_id", "day", name=op.f("pk_requisite_daily_usage")),
    )
    op.create_table(
        "requisite_open_amounts",
        sa.Column("requisite_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["requisite_id"], ["requisites.id"], name=op.f("fk_requisite_open_amounts_requisite_id_requisites")
        ),
        sa.PrimaryKeyConstraint("requisite_id", "amount", name=op.f("pk_requisite_open_amounts")),
        sa.UniqueConstraint("order_id", name=op.f("uq_requisite_open_amounts_order_id")),
    )
    op.add_column("order_history", sa.Column("incoming_order_id", sa.BigInteger(), nullable=True))
    op.add_column("order_history", sa.Column("requisite_id", sa.BigInteger(), nullable=True))
    op.add_column("order_history", sa.Column("requested_amount", sa.BigInteger(), nullable=True))
    op.add_column("order_history", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_unique_constraint(op.f("uq_order_history_incoming_order_id"), "order_history", ["incoming_order_id"])
    op.create_foreign_key(
        op.f("fk_order_history_requisite_id_requisites"), "order_history", "requisites", ["requisite_id"], ["id"]
    )
    op.create_foreign_key(
        op.f("fk_order_history_incoming_order_id_incoming_orders"),
        "order_history",
        "incoming_orders",
        ["incoming_order_id"],
        ["id"],
    )
    op.add_column("requisites", sa.Column("open_orders", sa.Integer(), server_default=sa.text("0"), nullable=False))
    op.create_check_constraint(op.f("ck_requisites_open_orders_non_negative"), "requisites", "open_orders >= 0")


def downgrade() -> None:
    op.drop_constraint(op.f("ck_requisites_open_orders_non_negative"), "requisites", type_="check")
    op.drop_column("requisites", "open_orders")
    op.drop_constraint(op.f("fk_order_history_incoming_order_id_incoming_orders"), "order_history", type_="foreignkey")
    op.drop_constraint(op.f("fk_order_history_requisite_id_requisites"), "order_history", type_="foreignkey")
    op.drop_constraint(op.f("uq_order_history_incoming_order_id"), "order_history", type_="unique")
    op.drop_column("order_history", "expires_at")
    op.drop_column("order_history", "requested_amount")
    op.drop_column("order_history", "requisite_id")
    op.drop_column("order_history", "incoming_order_id")
    op.drop_table("requisite_open_amounts")
    op.drop_table("requisite_daily_usage")
    op.drop_index(
        "ix_incoming_orders_due",
        table_name="incoming_orders",
        postgresql_where=sa.text("status IN ('new', 'retrying')"),
    )
    op.drop_index("ix_incoming_orders_client_id_status", table_name="incoming_orders")
    op.drop_table("incoming_orders")
