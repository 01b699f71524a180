"""store logos: a store's logo for the hosted payment page, served by its hash.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 21:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "store_logos",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["store_id"], ["stores.id"], name=op.f("fk_store_logos_store_id_stores"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("store_id", name=op.f("pk_store_logos")),
    )
    op.create_index(op.f("ix_store_logos_sha256"), "store_logos", ["sha256"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_store_logos_sha256"), table_name="store_logos")
    op.drop_table("store_logos")
