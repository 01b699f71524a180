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
