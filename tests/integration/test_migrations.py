"""The models and the Alembic revisions describe the same schema."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from jivapay.adapters.db.migrations import head_revisions
from jivapay.adapters.db.models import Base


async def test_database_is_at_head(resources: Any) -> None:
    async with resources.engine.connect() as conn:
        applied = set((await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars())
    assert applied == set(head_revisions())
    assert len(head_revisions()) == 1, "migrations must have a single head"


async def test_models_match_migrations(resources: Any) -> None:
    def diff(sync_conn: Any) -> list[Any]:
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True, "compare_server_default": True})
        return list(compare_metadata(context, Base.metadata))

    async with resources.engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == [], f"models and migrations differ: {differences}"


async def test_tables_every_assignment_changes_are_analyzed_promptly(resources: Any) -> None:
    """Revision 0012: a plan cached while a counters table was small must not outlive its growth
    by more than autovacuum's nap (docs/performance.md); alembic does not compare these."""
    async with resources.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT relname, reloptions FROM pg_class WHERE relname IN "
                "('requisite_open_amounts', 'requisite_daily_usage', 'requisites') AND relkind = 'r'"
            )
        )
        options = {name: set(opts or []) for name, opts in rows}
    assert "autovacuum_analyze_scale_factor=0.02" in options["requisite_open_amounts"]
    assert "autovacuum_analyze_scale_factor=0.02" in options["requisite_daily_usage"]
    assert "autovacuum_vacuum_scale_factor=0.02" in options["requisites"]
