"""withdrawals: owners' requests to send USDT out (amount + fee held in the ledger), every signed
transaction of one stored before it is sent (at most one can ever be mined), and each EVM hot
wallet's next nonce, reserved under a row lock.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 12:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wallet_nonces",
        sa.Column("network", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("next_nonce", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("network", "address", name=op.f("pk_wallet_nonces")),
    )
    op.create_table(
        "wallet_withdrawals",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("owner_type", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("network", sa.String(length=20), nullable=False),
        sa.Column("to_address", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="requested", nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "approval_reasons",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("waiting_reason", sa.String(length=64), nullable=True),
        sa.Column("nonce", sa.BigInteger(), nullable=True),
        sa.Column("tx_hash", sa.String(length=80), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("broadcast_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(length=16), server_default="request", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "owner_type IN ('trader', 'store', 'teamlead')", name=op.f("ck_wallet_withdrawals_owner_type_known")
        ),
        sa.CheckConstraint(
            "status IN ('requested', 'approved', 'broadcast', 'completed', 'rejected', 'canceled', 'failed')",
            name=op.f("ck_wallet_withdrawals_status_known"),
        ),
        sa.CheckConstraint("amount > 0 AND fee >= 0", name=op.f("ck_wallet_withdrawals_amounts_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_withdrawals")),
        sa.UniqueConstraint(
            "owner_type",
            "owner_id",
            "idempotency_key",
            name=op.f("uq_wallet_withdrawals_owner_type_owner_id_idempotency_key"),
        ),
        sa.UniqueConstraint("public_id", name=op.f("uq_wallet_withdrawals_public_id")),
    )
    op.create_index(
        "ix_wallet_withdrawals_open",
        "wallet_withdrawals",
        ["network", "status"],
        unique=False,
        postgresql_where=sa.text("status IN ('requested', 'approved', 'broadcast')"),
    )
    op.create_index(
        "ix_wallet_withdrawals_owner",
        "wallet_withdrawals",
        ["owner_type", "owner_id", sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_table(
        "wallet_withdrawal_attempts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("withdrawal_id", sa.BigInteger(), nullable=False),
        sa.Column("tx_hash", sa.String(length=80), nullable=False),
        sa.Column("signed", sa.Text(), nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=True),
        sa.Column("gas_price", sa.Numeric(precision=78, scale=0), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["withdrawal_id"],
            ["wallet_withdrawals.id"],
            name=op.f("fk_wallet_withdrawal_attempts_withdrawal_id_wallet_withdrawals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_withdrawal_attempts")),
        sa.UniqueConstraint("tx_hash", name=op.f("uq_wallet_withdrawal_attempts_tx_hash")),
    )
    op.create_index(
        op.f("ix_wallet_withdrawal_attempts_withdrawal_id"),
        "wallet_withdrawal_attempts",
        ["withdrawal_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_wallet_withdrawal_attempts_withdrawal_id"), table_name="wallet_withdrawal_attempts")
    op.drop_table("wallet_withdrawal_attempts")
    op.drop_index("ix_wallet_withdrawals_owner", table_name="wallet_withdrawals")
    op.drop_index(
        "ix_wallet_withdrawals_open",
        table_name="wallet_withdrawals",
        postgresql_where=sa.text("status IN ('requested', 'approved', 'broadcast')"),
    )
    op.drop_table("wallet_withdrawals")
    op.drop_table("wallet_nonces")
