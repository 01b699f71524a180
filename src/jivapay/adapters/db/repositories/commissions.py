from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import StoreCommission, TraderCommission


class CommissionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def store_rate(self, store_id: int, direction: str, payment_method_id: int | None) -> Decimal | None:
        """The most specific rate: this payment method's, else the store's general one."""
        stmt = (
            select(StoreCommission.rate)
            .where(StoreCommission.store_id == store_id, StoreCommission.direction == direction)
            .where(
                (StoreCommission.payment_method_id == payment_method_id) | StoreCommission.payment_method_id.is_(None)
            )
            .order_by(StoreCommission.payment_method_id.is_(None))
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def trader_rate(self, trader_id: int, direction: str, payment_method_id: int | None) -> Decimal | None:
        stmt = (
            select(TraderCommission.rate)
            .where(TraderCommission.trader_id == trader_id, TraderCommission.direction == direction)
            .where(
                (TraderCommission.payment_method_id == payment_method_id) | TraderCommission.payment_method_id.is_(None)
            )
            .order_by(TraderCommission.payment_method_id.is_(None))
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def set_store_rate(self, store_id: int, direction: str, payment_method_id: int | None, rate: Decimal) -> None:
        stmt = insert(StoreCommission).values(
            store_id=store_id, direction=direction, payment_method_id=payment_method_id, rate=rate
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[
                StoreCommission.store_id,
                StoreCommission.direction,
                func.coalesce(StoreCommission.payment_method_id, 0),
            ],
            set_={"rate": stmt.excluded.rate, "updated_at": func.now()},
        )
        await self.session.execute(stmt)

    async def set_trader_rate(
        self, trader_id: int, direction: str, payment_method_id: int | None, rate: Decimal
    ) -> None:
        stmt = insert(TraderCommission).values(
            trader_id=trader_id, direction=direction, payment_method_id=payment_method_id, rate=rate
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[
                TraderCommission.trader_id,
                TraderCommission.direction,
                func.coalesce(TraderCommission.payment_method_id, 0),
            ],
            set_={"rate": stmt.excluded.rate, "updated_at": func.now()},
        )
        await self.session.execute(stmt)
