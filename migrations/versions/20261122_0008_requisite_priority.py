"""requisite priority for selection

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 15:19:59.837804+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("requisites", sa.Column("priority", sa.Integer(), server_default=sa.text("100"), nullable=False))
    op.create_index(
        "ix_requisites_pick",
        "requisites",
        ["currency", "payment_method_id", "priority", sa.literal_column("last_used_at ASC NULLS FIRST"), "id"],
        unique=False,
        postgresql_where=sa.text("is_active AND archived_at IS NULL"),
    )

    op.execute(
        "UPDATE requisites r SET priority = tp.traffic_priority FROM trader_profiles tp WHERE tp.user_id = r.trader_id"
    )


def downgrade() -> None:
    op.drop_index(
        "ix_requisites_pick", table_name="requisites", postgresql_where=sa.text("is_active AND archived_at IS NULL")
    )
    op.drop_column("requisites", "priority")
