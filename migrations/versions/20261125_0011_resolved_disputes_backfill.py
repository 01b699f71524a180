"""dispute rows for disputes resolved before 0010, completed-turnover index

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 19:42:26.357672+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_order_history_trader_id_completed_at",
        "order_history",
        ["trader_id", "completed_at"],
        unique=False,
        postgresql_where=sa.text("status = 'completed'"),
    )

    # 0010 wrote rows for orders in dispute then; disputes already resolved get theirs too, from
    # the status history (opened by the last move to disputed, resolved by the move out of it),
    # so every report counts a dispute the same way: a row in order_disputes
    op.execute(
        """
        INSERT INTO order_disputes (order_id, priority, party, opened_by, reason, opened_at, sla_deadline,
                                    resolved_at, resolution, resolved_by, resolution_comment)
        SELECT o.id, 'normal', opened.party, opened.actor, opened.reason, opened.created_at,
               opened.created_at + interval '120 minutes',
               closed.created_at, closed.to_status, closed.actor, closed.reason
        FROM order_history o
        JOIN LATERAL (
            SELECT party, actor, reason, created_at, id FROM order_status_history
            WHERE order_id = o.id AND to_status = 'disputed' ORDER BY id DESC LIMIT 1
        ) opened ON true
        JOIN LATERAL (
            SELECT to_status, actor, reason, created_at FROM order_status_history
            WHERE order_id = o.id AND from_status = 'disputed' AND id > opened.id ORDER BY id LIMIT 1
        ) closed ON true
        WHERE closed.to_status IN ('completed', 'canceled')
          AND NOT EXISTS (SELECT 1 FROM order_disputes d WHERE d.order_id = o.id)
        """
    )


def downgrade() -> None:
    op.drop_index(
        "ix_order_history_trader_id_completed_at",
        table_name="order_history",
        postgresql_where=sa.text("status = 'completed'"),
    )
