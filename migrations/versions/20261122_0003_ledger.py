"""ledger

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 14:21:53.037916+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("owner_type", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=32), server_default="", nullable=False),
        sa.Column("balance", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("kind = 'external' OR balance >= 0", name=op.f("ck_accounts_balance_non_negative")),
        sa.CheckConstraint(
            "kind IN ('available', 'frozen', 'fiat', 'profit', 'external')", name=op.f("ck_accounts_kind_known")
        ),
        sa.CheckConstraint(
            "owner_type IN ('store', 'trader', 'teamlead', 'platform', 'external', 'adjustment')",
            name=op.f("ck_accounts_owner_type_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint(
            "owner_type",
            "owner_id",
            "currency",
            "kind",
            "label",
            name=op.f("uq_accounts_owner_type_owner_id_currency_kind_label"),
        ),
    )
    op.create_table(
        "ledger_transactions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=True),
        sa.Column("legs_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "details", postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transactions")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_ledger_transactions_idempotency_key")),
    )
    op.create_index("ix_ledger_transactions_created_at", "ledger_transactions", ["created_at"], unique=False)
    op.create_index("ix_ledger_transactions_order_id", "ledger_transactions", ["order_id"], unique=False)
    op.create_table(
        "exchange_rates",
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("rate", sa.Numeric(precision=20, scale=8), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.CheckConstraint("rate > 0", name=op.f("ck_exchange_rates_rate_positive")),
        sa.ForeignKeyConstraint(
            ["currency"], ["fiat_currencies.code"], name=op.f("fk_exchange_rates_currency_fiat_currencies")
        ),
        sa.PrimaryKeyConstraint("currency", name=op.f("pk_exchange_rates")),
    )
    op.create_table(
        "holds",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=False),
        sa.Column("available_account_id", sa.BigInteger(), nullable=False),
        sa.Column("frozen_account_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="active", nullable=False),
        sa.Column("freeze_transaction_id", sa.BigInteger(), nullable=False),
        sa.Column("resolve_transaction_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('active', 'captured', 'released')", name=op.f("ck_holds_status_known")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_holds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["available_account_id"], ["accounts.id"], name=op.f("fk_holds_available_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["freeze_transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_holds_freeze_transaction_id_ledger_transactions"),
        ),
        sa.ForeignKeyConstraint(
            ["frozen_account_id"], ["accounts.id"], name=op.f("fk_holds_frozen_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["resolve_transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_holds_resolve_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holds")),
        sa.UniqueConstraint("reference", name=op.f("uq_holds_reference")),
    )
    op.create_index(
        "ix_holds_frozen_account_id_active",
        "holds",
        ["frozen_account_id"],
        unique=False,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("balance_after", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_ledger_entries_amount_non_zero")),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], name=op.f("fk_ledger_entries_account_id_accounts")),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_ledger_entries_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    op.create_index("ix_ledger_entries_account_id_id", "ledger_entries", ["account_id", "id"], unique=False)
    op.create_index("ix_ledger_entries_transaction_id", "ledger_entries", ["transaction_id"], unique=False)
    op.create_table(
        "trader_commissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trader_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("payment_method_id", sa.Integer(), nullable=True),
        sa.Column("rate", sa.Numeric(precision=8, scale=6), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("direction IN ('payin', 'payout')", name=op.f("ck_trader_commissions_direction_known")),
        sa.CheckConstraint("rate >= 0 AND rate < 1", name=op.f("ck_trader_commissions_rate_range")),
        sa.ForeignKeyConstraint(
            ["payment_method_id"],
            ["payment_methods.id"],
            name=op.f("fk_trader_commissions_payment_method_id_payment_methods"),
        ),
        sa.ForeignKeyConstraint(
            ["trader_id"], ["users.id"], name=op.f("fk_trader_commissions_trader_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trader_commissions")),
    )
    op.create_index(
        "uq_trader_commissions_scope",
        "trader_commissions",
        ["trader_id", "direction", sa.literal_column("coalesce(payment_method_id, 0)")],
        unique=True,
    )
    op.create_table(
        "order_history",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("trader_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("rate", sa.Numeric(precision=20, scale=8), nullable=False),
        sa.Column("store_commission", sa.Numeric(precision=8, scale=6), nullable=False),
        sa.Column("trader_commission", sa.Numeric(precision=8, scale=6), nullable=False),
        sa.Column("payment_method_id", sa.Integer(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("direction IN ('payin', 'payout')", name=op.f("ck_order_history_direction_known")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_order_history_amount_positive")),
        sa.CheckConstraint("rate > 0", name=op.f("ck_order_history_rate_positive")),
        sa.CheckConstraint(
            "store_commission >= 0 AND store_commission < 1", name=op.f("ck_order_history_store_commission_range")
        ),
        sa.CheckConstraint(
            "trader_commission >= 0 AND trader_commission < 1", name=op.f("ck_order_history_trader_commission_range")
        ),
        sa.ForeignKeyConstraint(
            ["currency"], ["fiat_currencies.code"], name=op.f("fk_order_history_currency_fiat_currencies")
        ),
        sa.ForeignKeyConstraint(
            ["payment_method_id"],
            ["payment_methods.id"],
            name=op.f("fk_order_history_payment_method_id_payment_methods"),
        ),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_order_history_store_id_stores")),
        sa.ForeignKeyConstraint(["trader_id"], ["users.id"], name=op.f("fk_order_history_trader_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_history")),
    )
    op.create_index("ix_order_history_status", "order_history", ["status"], unique=False)
    op.create_index("ix_order_history_store_id_created_at", "order_history", ["store_id", "created_at"], unique=False)
    op.create_index("ix_order_history_trader_id_created_at", "order_history", ["trader_id", "created_at"], unique=False)
    op.create_table(
        "store_commissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("payment_method_id", sa.Integer(), nullable=True),
        sa.Column("rate", sa.Numeric(precision=8, scale=6), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("direction IN ('payin', 'payout')", name=op.f("ck_store_commissions_direction_known")),
        sa.CheckConstraint("rate >= 0 AND rate < 1", name=op.f("ck_store_commissions_rate_range")),
        sa.ForeignKeyConstraint(
            ["payment_method_id"],
            ["payment_methods.id"],
            name=op.f("fk_store_commissions_payment_method_id_payment_methods"),
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_store_commissions_store_id_stores"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_commissions")),
    )
    op.create_index(
        "uq_store_commissions_scope",
        "store_commissions",
        ["store_id", "direction", sa.literal_column("coalesce(payment_method_id, 0)")],
        unique=True,
    )
    op.create_table(
        "order_settlements",
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("transaction_id", sa.BigInteger(), nullable=False),
        sa.Column("platform_profit", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["order_history.id"], name=op.f("fk_order_settlements_order_id_order_history")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_order_settlements_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_order_settlements")),
    )
    op.execute(
        "CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries "
        "FOR EACH ROW EXECUTE FUNCTION jivapay_reject_mutation()"
    )
    op.execute(
        "CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions "
        "FOR EACH ROW EXECUTE FUNCTION jivapay_reject_mutation()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER ledger_transactions_append_only ON ledger_transactions")
    op.execute("DROP TRIGGER ledger_entries_append_only ON ledger_entries")
    op.drop_table("order_settlements")
    op.drop_index("uq_store_commissions_scope", table_name="store_commissions")
    op.drop_table("store_commissions")
    op.drop_index("ix_order_history_trader_id_created_at", table_name="order_history")
    op.drop_index("ix_order_history_store_id_created_at", table_name="order_history")
    op.drop_index("ix_order_history_status", table_name="order_history")
    op.drop_table("order_history")
    op.drop_index("uq_trader_commissions_scope", table_name="trader_commissions")
    op.drop_table("trader_commissions")
    op.drop_index("ix_ledger_entries_transaction_id", table_name="ledger_entries")
    op.drop_index("ix_ledger_entries_account_id_id", table_name="ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_index(
        "ix_holds_frozen_account_id_active", table_name="holds", postgresql_where=sa.text("status = 'active'")
    )
    op.drop_table("holds")
    op.drop_table("exchange_rates")
    op.drop_index("ix_ledger_transactions_order_id", table_name="ledger_transactions")
    op.drop_index("ix_ledger_transactions_created_at", table_name="ledger_transactions")
    op.drop_table("ledger_transactions")
    op.drop_table("accounts")
