"""the wallet: deposit addresses (derivation index, never a key; one sequence hands out indexes),
deposits seen on chain (once per network, tx hash and log index), each network's scan cursor and
the block hashes of its recent scan steps (reorg detection).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 10:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(sa.schema.CreateSequence(sa.Sequence("wallet_address_index_seq", start=0, minvalue=0)))
    op.create_table(
        "wallet_addresses",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("owner_type", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("family", sa.String(length=8), nullable=False),
        sa.Column("derivation_index", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("family IN ('evm', 'tron')", name=op.f("ck_wallet_addresses_family_known")),
        sa.CheckConstraint(
            "owner_type IN ('trader', 'store', 'teamlead')", name=op.f("ck_wallet_addresses_owner_type_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_addresses")),
        sa.UniqueConstraint("family", "address", name=op.f("uq_wallet_addresses_family_address")),
        sa.UniqueConstraint("family", "derivation_index", name=op.f("uq_wallet_addresses_family_derivation_index")),
        sa.UniqueConstraint(
            "owner_type", "owner_id", "family", name=op.f("uq_wallet_addresses_owner_type_owner_id_family")
        ),
    )
    op.create_index(
        "ix_wallet_addresses_family_lower_address",
        "wallet_addresses",
        ["family", sa.literal_column("lower(address)")],
        unique=False,
    )
    op.create_table(
        "wallet_chain_cursors",
        sa.Column("network", sa.String(length=20), nullable=False),
        sa.Column("next_block", sa.BigInteger(), nullable=False),
        sa.Column("head", sa.BigInteger(), nullable=True),
        sa.Column("safe_head", sa.BigInteger(), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rpc_errors", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("deposits_credited", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("network", name=op.f("pk_wallet_chain_cursors")),
    )
    op.create_table(
        "wallet_scanned_blocks",
        sa.Column("network", sa.String(length=20), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("network", "number", name=op.f("pk_wallet_scanned_blocks")),
    )
    op.create_table(
        "wallet_deposits",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("network", sa.String(length=20), nullable=False),
        sa.Column("tx_hash", sa.String(length=80), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(length=80), nullable=False),
        sa.Column("from_address", sa.String(length=64), nullable=False),
        sa.Column("to_address", sa.String(length=64), nullable=False),
        sa.Column("address_id", sa.BigInteger(), nullable=False),
        sa.Column("owner_type", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("raw_amount", sa.Numeric(precision=78, scale=0), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("dust", sa.Numeric(precision=78, scale=0), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("confirmations", sa.Integer(), server_default="0", nullable=False),
        sa.Column("generation", sa.Integer(), server_default="0", nullable=False),
        sa.Column("credited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reversed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ledger_transaction_id", sa.BigInteger(), nullable=True),
        sa.Column("reversal_transaction_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'credited', 'below_minimum', 'dropped', 'reversed', 'reversal_failed')",
            name=op.f("ck_wallet_deposits_status_known"),
        ),
        sa.CheckConstraint(
            "amount >= 0 AND raw_amount >= 0 AND dust >= 0", name=op.f("ck_wallet_deposits_amounts_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["address_id"], ["wallet_addresses.id"], name=op.f("fk_wallet_deposits_address_id_wallet_addresses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_deposits")),
        sa.UniqueConstraint(
            "network", "tx_hash", "log_index", name=op.f("uq_wallet_deposits_network_tx_hash_log_index")
        ),
    )
    op.create_index(
        "ix_wallet_deposits_owner",
        "wallet_deposits",
        ["owner_type", "owner_id", sa.literal_column("id DESC")],
        unique=False,
    )
    op.create_index(
        "ix_wallet_deposits_watched",
        "wallet_deposits",
        ["network", "block_number"],
        unique=False,
        postgresql_where=sa.text("status IN ('pending', 'credited')"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_wallet_deposits_watched",
        table_name="wallet_deposits",
        postgresql_where=sa.text("status IN ('pending', 'credited')"),
    )
    op.drop_index("ix_wallet_deposits_owner", table_name="wallet_deposits")
    op.drop_table("wallet_deposits")
    op.drop_table("wallet_scanned_blocks")
    op.drop_table("wallet_chain_cursors")
    op.drop_index("ix_wallet_addresses_family_lower_address", table_name="wallet_addresses")
    op.drop_table("wallet_addresses")
    op.execute(sa.schema.DropSequence(sa.Sequence("wallet_address_index_seq")))
