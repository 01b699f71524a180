"""selection keeps good plans: an index on requisite_open_amounts.amount, and autovacuum
settings for the tables every assignment changes

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 01:50:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every assignment adds to the counters and moves a requisite in the round-robin index. With the
# defaults (analyze after 50 rows + 10 % of a table changed, vacuum after 50 + 20 %) a cached
# plan made while a counters table was small outlives the table's growth — the selection then
# scans it whole for every candidate — and the dead round-robin entries the selection steps
# over pile up. 50 + 2 % fires no later than the defaults at any size; autovacuum's nap (one
# minute by default) still bounds how soon.
_STORAGE = {
    "requisite_open_amounts": "autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 50, "
    "autovacuum_vacuum_scale_factor = 0.05",
    "requisite_daily_usage": "autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 50",
    "requisites": "autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 50",
}


def upgrade() -> None:
    op.create_index("ix_requisite_open_amounts_amount", "requisite_open_amounts", ["amount"], unique=False)
    for table, storage in _STORAGE.items():
        op.execute(f"ALTER TABLE {table} SET ({storage})")


def downgrade() -> None:
    for table, storage in _STORAGE.items():
        names = ", ".join(part.split("=")[0].strip() for part in storage.split(","))
        op.execute(f"ALTER TABLE {table} RESET ({names})")
    op.drop_index("ix_requisite_open_amounts_amount", table_name="requisite_open_amounts")
