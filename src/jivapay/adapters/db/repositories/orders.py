from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import OrderHistory


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, order_id: int, *, for_update: bool = False) -> OrderHistory | None:
        stmt = select(OrderHistory).where(OrderHistory.id == order_id)
        if for_update:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add(self, order: OrderHistory) -> OrderHistory:
        self.session.add(order)
        await self.session.flush()
        return order
