"""daily payouts: a store's automatic payout of its available USDT above a reserve to an
admin-approved address, once a day.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 15:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wallet_daily_payouts",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("network", sa.String(length=20), nullable=False),
        sa.Column("to_address", sa.String(length=64), nullable=False),
        sa.Column("reserve", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("hour_utc", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.Integer(), nullable=True),
        sa.Column("last_run_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("hour_utc BETWEEN 0 AND 23", name=op.f("ck_wallet_daily_payouts_hour_utc_valid")),
        sa.CheckConstraint("reserve >= 0", name=op.f("ck_wallet_daily_payouts_reserve_not_negative")),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_wallet_daily_payouts_store_id_stores"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("store_id", name=op.f("pk_wallet_daily_payouts")),
    )


def downgrade() -> None:
    op.drop_table("wallet_daily_payouts")
