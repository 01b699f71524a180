"""Payment receipts on file: the rows (the files themselves are in storage)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import Receipt


class ReceiptRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, receipt: Receipt) -> Receipt:
        self.session.add(receipt)
        await self.session.flush()
        return receipt

    async def orders_with_same_file(self, sha256: str, *, other_than: int, limit: int) -> list[int]:
        """Other orders that have a receipt with this fingerprint (a reused image)."""
        stmt = select(Receipt.order_id).where(Receipt.sha256 == sha256, Receipt.order_id != other_than).limit(limit)
        return list((await self.session.execute(stmt)).scalars().all())

    async def ids_of(self, order_id: int) -> list[int]:
        """Every receipt on file for an order (any party), oldest first."""
        stmt = select(Receipt.id).where(Receipt.order_id == order_id).order_by(Receipt.id)
        return list((await self.session.scalars(stmt)).all())

    async def of_order(self, order_id: int) -> list[Receipt]:
        stmt = select(Receipt).where(Receipt.order_id == order_id).order_by(Receipt.id)
        return list((await self.session.scalars(stmt)).all())

    async def any_for(self, order_id: int) -> bool:
        stmt = select(Receipt.id).where(Receipt.order_id == order_id).limit(1)
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None
