"""one public order reference: every order gets an ``ord_…`` public id (random, not sequential)
that the merchant, trader, support and admin views, callbacks and exports all show; an
assigned order carries its incoming order's reference (a declined pay-out keeps it beside its
successor)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 06:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 22 random hex characters (pgcrypto may be absent): unique and non-sequential is all it needs
_RANDOM_REFERENCE = "'ord_' || substr(md5(random()::text || clock_timestamp()::text || id::text), 1, 22)"


def upgrade() -> None:
    op.add_column("incoming_orders", sa.Column("public_id", sa.String(length=32), nullable=True))
    op.add_column("order_history", sa.Column("public_id", sa.String(length=32), nullable=True))
    op.execute(f"UPDATE incoming_orders SET public_id = {_RANDOM_REFERENCE}")  # noqa: S608 - a constant
    op.execute(
        "UPDATE order_history o SET public_id = i.public_id FROM incoming_orders i WHERE i.id = o.incoming_order_id"
    )
    op.execute(f"UPDATE order_history SET public_id = {_RANDOM_REFERENCE} WHERE public_id IS NULL")  # noqa: S608
    op.alter_column("incoming_orders", "public_id", nullable=False)
    op.alter_column("order_history", "public_id", nullable=False)
    op.create_unique_constraint(op.f("uq_incoming_orders_public_id"), "incoming_orders", ["public_id"])
    op.create_index("ix_order_history_public_id", "order_history", ["public_id"], unique=False)
    op.create_index(
        "uq_order_history_public_id_live",
        "order_history",
        ["public_id"],
        unique=True,
        postgresql_where=sa.text("status <> 'declined'"),
    )


def downgrade() -> None:
    op.drop_index("uq_order_history_public_id_live", table_name="order_history")
    op.drop_index("ix_order_history_public_id", table_name="order_history")
    op.drop_constraint(op.f("uq_incoming_orders_public_id"), "incoming_orders", type_="unique")
    op.drop_column("order_history", "public_id")
    op.drop_column("incoming_orders", "public_id")
