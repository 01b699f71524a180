"""requisites

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 14:46:01.468363+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "requisites",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("trader_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=8), nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("payment_method_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("owner_name", sa.String(length=128), nullable=False),
        sa.Column("number_encrypted", sa.Text(), nullable=False),
        sa.Column("number_last4", sa.String(length=4), nullable=False),
        sa.Column("number_bin", sa.String(length=8), nullable=True),
        sa.Column("number_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("min_amount", sa.BigInteger(), nullable=True),
        sa.Column("max_amount", sa.BigInteger(), nullable=True),
        sa.Column("daily_limit", sa.BigInteger(), nullable=True),
        sa.Column("monthly_limit", sa.BigInteger(), nullable=True),
        sa.Column("orders_per_day", sa.Integer(), nullable=True),
        sa.Column("max_open_orders", sa.Integer(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("direction IN ('payin', 'payout', 'both')", name=op.f("ck_requisites_direction_known")),
        sa.CheckConstraint("type IN ('card', 'account', 'phone')", name=op.f("ck_requisites_type_known")),
        sa.CheckConstraint(
            "min_amount IS NULL OR max_amount IS NULL OR min_amount <= max_amount",
            name=op.f("ck_requisites_amount_range"),
        ),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"], name=op.f("fk_requisites_bank_id_banks")),
        sa.ForeignKeyConstraint(
            ["currency"], ["fiat_currencies.code"], name=op.f("fk_requisites_currency_fiat_currencies")
        ),
        sa.ForeignKeyConstraint(
            ["payment_method_id"], ["payment_methods.id"], name=op.f("fk_requisites_payment_method_id_payment_methods")
        ),
        sa.ForeignKeyConstraint(["trader_id"], ["users.id"], name=op.f("fk_requisites_trader_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requisites")),
    )
    op.create_index(
        "ix_requisites_selection",
        "requisites",
        ["currency", "payment_method_id", "direction"],
        unique=False,
        postgresql_where=sa.text("is_active AND archived_at IS NULL"),
    )
    op.create_index("ix_requisites_trader_id", "requisites", ["trader_id"], unique=False)
    op.create_index(
        "uq_requisites_fingerprint",
        "requisites",
        ["number_fingerprint"],
        unique=True,
        postgresql_where=sa.text("archived_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_requisites_fingerprint", table_name="requisites", postgresql_where=sa.text("archived_at IS NULL"))
    op.drop_index("ix_requisites_trader_id", table_name="requisites")
    op.drop_index(
        "ix_requisites_selection",
        table_name="requisites",
        postgresql_where=sa.text("is_active AND archived_at IS NULL"),
    )
    op.drop_table("requisites")
