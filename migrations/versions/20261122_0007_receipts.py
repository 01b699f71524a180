"""receipts

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 15:13:49.669541+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "receipts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("party", sa.String(length=16), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("object_key", sa.String(length=256), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["order_history.id"], name=op.f("fk_receipts_order_id_order_history")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipts")),
        sa.UniqueConstraint("object_key", name=op.f("uq_receipts_object_key")),
    )
    op.create_index("ix_receipts_order_id", "receipts", ["order_id"], unique=False)
    op.create_index("ix_receipts_sha256", "receipts", ["sha256"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_receipts_sha256", table_name="receipts")
    op.drop_index("ix_receipts_order_id", table_name="receipts")
    op.drop_table("receipts")
