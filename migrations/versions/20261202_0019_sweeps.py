"""sweeps: moving deposit addresses' USDT to the hot wallet, gas fueling first; every signed
transaction stored before it is sent, one open sweep per address and network.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 14:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wallet_sweeps",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("network", sa.String(length=20), nullable=False),
        sa.Column("address_id", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("raw_amount", sa.Numeric(precision=78, scale=0), nullable=True),
        sa.Column("fuel_amount", sa.Numeric(precision=78, scale=0), nullable=True),
        sa.Column("fuel_tx_hash", sa.String(length=80), nullable=True),
        sa.Column("fuel_signed", sa.Text(), nullable=True),
        sa.Column("sweep_tx_hash", sa.String(length=80), nullable=True),
        sa.Column("sweep_signed", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "status IN ('fueling', 'sweeping', 'done', 'failed')", name=op.f("ck_wallet_sweeps_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["address_id"], ["wallet_addresses.id"], name=op.f("fk_wallet_sweeps_address_id_wallet_addresses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_sweeps")),
    )
    op.create_index("ix_wallet_sweeps_network_status", "wallet_sweeps", ["network", "status"], unique=False)
    op.create_index(
        "uq_wallet_sweeps_open",
        "wallet_sweeps",
        ["network", "address_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('fueling', 'sweeping')"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_wallet_sweeps_open",
        table_name="wallet_sweeps",
        postgresql_where=sa.text("status IN ('fueling', 'sweeping')"),
    )
    op.drop_index("ix_wallet_sweeps_network_status", table_name="wallet_sweeps")
    op.drop_table("wallet_sweeps")
