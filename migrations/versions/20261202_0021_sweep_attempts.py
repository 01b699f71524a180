"""sweep attempts and native gas spent: every signed fuel and sweep transaction kept like a
withdrawal's (so a stuck one can be sped up with the same nonce and all of them followed), and the
native fee each mined transaction paid (withdrawals, fuel, sweeps), for the operators' accounts.

The open sweeps' signed transactions move from the sweep row into attempts.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 19:45:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wallet_sweep_attempts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("sweep_id", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.String(length=8), nullable=False),
        sa.Column("tx_hash", sa.String(length=80), nullable=False),
        sa.Column("signed", sa.Text(), nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=True),
        sa.Column("gas_price", sa.Numeric(precision=78, scale=0), nullable=True),
        sa.Column("amount", sa.Numeric(precision=78, scale=0), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("mined", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("gas_fee", sa.Numeric(precision=78, scale=0), nullable=True),
        sa.CheckConstraint("step IN ('fuel', 'sweep')", name=op.f("ck_wallet_sweep_attempts_step_known")),
        sa.ForeignKeyConstraint(
            ["sweep_id"], ["wallet_sweeps.id"], name=op.f("fk_wallet_sweep_attempts_sweep_id_wallet_sweeps")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_sweep_attempts")),
        sa.UniqueConstraint("tx_hash", name=op.f("uq_wallet_sweep_attempts_tx_hash")),
    )
    op.create_index(op.f("ix_wallet_sweep_attempts_sweep_id"), "wallet_sweep_attempts", ["sweep_id"], unique=False)
    op.execute(
        """
        INSERT INTO wallet_sweep_attempts (sweep_id, step, tx_hash, signed, amount, created_at, sent_at, closed_at, mined)
        SELECT id, 'fuel', fuel_tx_hash, fuel_signed, fuel_amount, updated_at, updated_at,
               CASE WHEN status = 'fueling' THEN NULL ELSE updated_at END, status <> 'fueling'
          FROM wallet_sweeps WHERE fuel_tx_hash IS NOT NULL AND fuel_signed IS NOT NULL
        """
    )
    op.execute(
        """
        INSERT INTO wallet_sweep_attempts (sweep_id, step, tx_hash, signed, amount, created_at, sent_at, closed_at, mined)
        SELECT id, 'sweep', sweep_tx_hash, sweep_signed, raw_amount, updated_at, updated_at,
               CASE WHEN status = 'sweeping' THEN NULL ELSE updated_at END, status IN ('done', 'failed')
          FROM wallet_sweeps WHERE sweep_tx_hash IS NOT NULL AND sweep_signed IS NOT NULL
        """
    )
    op.drop_column("wallet_sweeps", "fuel_signed")
    op.drop_column("wallet_sweeps", "sweep_signed")
    op.add_column("wallet_sweeps", sa.Column("stuck_reason", sa.String(length=64), nullable=True))
    op.add_column("wallet_withdrawal_attempts", sa.Column("gas_fee", sa.Numeric(precision=78, scale=0), nullable=True))


def downgrade() -> None:
    op.drop_column("wallet_withdrawal_attempts", "gas_fee")
    op.drop_column("wallet_sweeps", "stuck_reason")
    op.add_column("wallet_sweeps", sa.Column("sweep_signed", sa.Text(), nullable=True))
    op.add_column("wallet_sweeps", sa.Column("fuel_signed", sa.Text(), nullable=True))
    op.execute(
        """
        UPDATE wallet_sweeps s SET fuel_signed = a.signed FROM wallet_sweep_attempts a
         WHERE a.sweep_id = s.id AND a.step = 'fuel' AND a.tx_hash = s.fuel_tx_hash
        """
    )
    op.execute(
        """
        UPDATE wallet_sweeps s SET sweep_signed = a.signed FROM wallet_sweep_attempts a
         WHERE a.sweep_id = s.id AND a.step = 'sweep' AND a.tx_hash = s.sweep_tx_hash
        """
    )
    op.drop_index(op.f("ix_wallet_sweep_attempts_sweep_id"), table_name="wallet_sweep_attempts")
    op.drop_table("wallet_sweep_attempts")
