from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import Requisite


class RequisiteRepository:
    """Trader-facing reads are filtered by owner: another trader's requisite does not exist."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, requisite: Requisite) -> Requisite:
        self.session.add(requisite)
        await self.session.flush()
        return requisite

    async def get(
        self, requisite_id: int, *, trader_id: int | None = None, for_update: bool = False
    ) -> Requisite | None:
        stmt = select(Requisite).where(Requisite.id == requisite_id, Requisite.archived_at.is_(None))
        if trader_id is not None:
            stmt = stmt.where(Requisite.trader_id == trader_id)
        if for_update:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def find(self, requisite_id: int) -> Requisite | None:
        """Archived or not (an order keeps pointing at it); from the session when loaded there already."""
        return await self.session.get(Requisite, requisite_id)

    async def fingerprint_taken(self, fingerprint: str) -> bool:
        stmt = (
            select(Requisite.id)
            .where(Requisite.number_fingerprint == fingerprint, Requisite.archived_at.is_(None))
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def list(
        self, *, trader_id: int | None, filters: dict[str, Any], starting_after: int | None, limit: int
    ) -> Sequence[Requisite]:
        stmt = select(Requisite).where(Requisite.archived_at.is_(None)).order_by(Requisite.id).limit(limit)
        if trader_id is not None:
            stmt = stmt.where(Requisite.trader_id == trader_id)
        for name, value in filters.items():
            if value is not None:
                stmt = stmt.where(getattr(Requisite, name) == value)
        if starting_after is not None:
            stmt = stmt.where(Requisite.id > starting_after)
        return (await self.session.scalars(stmt)).all()

    async def sync_priority(self, trader_id: int, priority: int) -> None:
        """Requisites carry their trader's traffic priority (selection orders by it through one index)."""
        await self.session.execute(
            update(Requisite)
            .where(Requisite.trader_id == trader_id)
            .values(priority=priority)
            .execution_options(synchronize_session=False)
        )

    async def scrub_for_trader(self, trader_id: int, scrubbed_number: str) -> int:
        result = await self.session.execute(
            update(Requisite)
            .where(Requisite.trader_id == trader_id)
            .values(
                owner_name="anonymized",
                number_encrypted=scrubbed_number,
                number_bin=None,
                is_active=False,
                archived_at=func.coalesce(Requisite.archived_at, func.now()),
            )
            .returning(Requisite.id)
            .execution_options(synchronize_session=False)
        )
        return len(result.all())
