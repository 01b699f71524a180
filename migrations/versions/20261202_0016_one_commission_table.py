"""one commission table keyed by owner: ``commissions`` (owner_type 'store' | 'trader', owner_id,
as accounts are keyed) replaces the twins ``store_commissions`` and ``trader_commissions``, with
the same columns, checks and uniqueness (one rate per owner, direction and payment method, the
general one included); the owner's foreign key (ON DELETE CASCADE) stays, on a column derived
from the key. Every row is carried over, timestamps included; the downgrade carries them back.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 09:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = "direction, payment_method_id, rate, created_at, updated_at"


def upgrade() -> None:
    op.create_table(
        "commissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_type", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("payment_method_id", sa.Integer(), nullable=True),
        sa.Column("rate", sa.Numeric(precision=8, scale=6), nullable=False),
        sa.Column(
            "store_id",
            sa.Integer(),
            sa.Computed("CASE WHEN owner_type = 'store' THEN owner_id ELSE NULL END", persisted=True),
            nullable=True,
        ),
        sa.Column(
            "trader_id",
            sa.Integer(),
            sa.Computed("CASE WHEN owner_type = 'trader' THEN owner_id ELSE NULL END", persisted=True),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("owner_type IN ('store', 'trader')", name=op.f("ck_commissions_owner_type_known")),
        sa.CheckConstraint("direction IN ('payin', 'payout')", name=op.f("ck_commissions_direction_known")),
        sa.CheckConstraint("rate >= 0 AND rate < 1", name=op.f("ck_commissions_rate_range")),
        sa.ForeignKeyConstraint(
            ["payment_method_id"],
            ["payment_methods.id"],
            name=op.f("fk_commissions_payment_method_id_payment_methods"),
        ),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_commissions_store_id_stores"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["trader_id"], ["users.id"], name=op.f("fk_commissions_trader_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commissions")),
    )
    op.create_index(
        "uq_commissions_scope",
        "commissions",
        ["owner_type", "owner_id", "direction", sa.literal_column("coalesce(payment_method_id, 0)")],
        unique=True,
    )
    for owner_type, table, owner_column in (
        ("store", "store_commissions", "store_id"),
        ("trader", "trader_commissions", "trader_id"),
    ):
        op.execute(
            f"INSERT INTO commissions (owner_type, owner_id, {_COLUMNS}) "  # noqa: S608 - constants only
            f"SELECT '{owner_type}', {owner_column}, {_COLUMNS} FROM {table} ORDER BY id"
        )
    op.drop_index("uq_store_commissions_scope", table_name="store_commissions")
    op.drop_table("store_commissions")
    op.drop_index("uq_trader_commissions_scope", table_name="trader_commissions")
    op.drop_table("trader_commissions")


def _create_twin(table: str, owner_column: str, owner_table: str) -> None:
    """``store_commissions`` or ``trader_commissions`` as revision 0003 made them."""
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(owner_column, sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("payment_method_id", sa.Integer(), nullable=True),
        sa.Column("rate", sa.Numeric(precision=8, scale=6), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("direction IN ('payin', 'payout')", name=op.f(f"ck_{table}_direction_known")),
        sa.CheckConstraint("rate >= 0 AND rate < 1", name=op.f(f"ck_{table}_rate_range")),
        sa.ForeignKeyConstraint(
            ["payment_method_id"],
            ["payment_methods.id"],
            name=op.f(f"fk_{table}_payment_method_id_payment_methods"),
        ),
        sa.ForeignKeyConstraint(
            [owner_column],
            [f"{owner_table}.id"],
            name=op.f(f"fk_{table}_{owner_column}_{owner_table}"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    )
    op.create_index(
        f"uq_{table}_scope",
        table,
        [owner_column, "direction", sa.literal_column("coalesce(payment_method_id, 0)")],
        unique=True,
    )


def downgrade() -> None:
    for owner_type, table, owner_column, owner_table in (
        ("trader", "trader_commissions", "trader_id", "users"),
        ("store", "store_commissions", "store_id", "stores"),
    ):
        _create_twin(table, owner_column, owner_table)
        op.execute(
            f"INSERT INTO {table} ({owner_column}, {_COLUMNS}) "  # noqa: S608 - constants only
            f"SELECT owner_id, {_COLUMNS} FROM commissions WHERE owner_type = '{owner_type}' ORDER BY id"
        )
    op.drop_index("uq_commissions_scope", table_name="commissions")
    op.drop_table("commissions")
