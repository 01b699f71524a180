from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import ConfigurationSetting


class ConfigurationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_key(self, key: str) -> None:
        """Queue this transaction behind any other writing ``key`` (an advisory lock held to the
        end of the transaction), so a read-modify-write of one setting never loses a change."""
        await self.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})

    async def get(self, key: str) -> ConfigurationSetting | None:
        return await self.session.get(ConfigurationSetting, key)

    async def list_all(self) -> Sequence[ConfigurationSetting]:
        result = await self.session.scalars(select(ConfigurationSetting).order_by(ConfigurationSetting.key))
        return result.all()

    async def all_raw(self) -> dict[str, tuple[str, str]]:
        """key → (value, value_type) for every setting, in one query (the cache fill)."""
        rows = await self.session.execute(
            select(ConfigurationSetting.key, ConfigurationSetting.value, ConfigurationSetting.value_type)
        )
        return {key: (value, value_type) for key, value, value_type in rows}

    async def upsert(self, key: str, value: str, value_type: str, description: str, updated_by: str | None) -> None:
        stmt = insert(ConfigurationSetting).values(
            key=key, value=value, value_type=value_type, description=description, updated_by=updated_by
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[ConfigurationSetting.key],
            set_={
                "value": stmt.excluded.value,
                "value_type": stmt.excluded.value_type,
                "description": stmt.excluded.description,
                "updated_by": stmt.excluded.updated_by,
                "updated_at": stmt.excluded.updated_at,
            },
        )
        await self.session.execute(stmt)

    async def insert_missing(self, rows: list[dict[str, str]]) -> int:
        """Insert defaults that are not there yet; never overwrite an operator's value."""
        if not rows:
            return 0
        stmt = insert(ConfigurationSetting).values(rows).on_conflict_do_nothing(index_elements=["key"])
        result = await self.session.execute(stmt.returning(ConfigurationSetting.key))
        return len(result.all())

    async def delete(self, key: str) -> ConfigurationSetting | None:
        """Remove a stored value (the default applies again); the removed row, or None."""
        row = await self.session.get(ConfigurationSetting, key, with_for_update=True)
        if row is not None:
            await self.session.delete(row)
            await self.session.flush()
        return row
