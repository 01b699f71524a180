from __future__ import annotations

from decimal import Decimal

from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import StoreCommission, TraderCommission

# The most specific rate: this payment method's, else the owner's general one (NULL when none is
# set). Shared with the selection re-check, which reads both rates in its own round trip.
STORE_RATE_SQL = """(SELECT rate FROM store_commissions
       WHERE store_id = :store_id AND direction = :direction
         AND (payment_method_id = CAST(:payment_method_id AS integer) OR payment_method_id IS NULL)
       ORDER BY payment_method_id IS NULL LIMIT 1)"""
TRADER_RATE_SQL = """(SELECT rate FROM trader_commissions
       WHERE trader_id = {trader} AND direction = :direction
         AND (payment_method_id = CAST(:payment_method_id AS integer) OR payment_method_id IS NULL)
       ORDER BY payment_method_id IS NULL LIMIT 1)"""

_RATES = text(f"SELECT {STORE_RATE_SQL} AS store_rate, {TRADER_RATE_SQL.format(trader=':trader_id')} AS trader_rate")


class CommissionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def rates(
        self, store_id: int, trader_id: int, direction: str, payment_method_id: int | None
    ) -> tuple[Decimal | None, Decimal | None]:
        """(store rate, trader rate), each None when neither a specific nor a general one is set."""
        row = (
            await self.session.execute(
                _RATES,
                {
                    "store_id": store_id,
                    "trader_id": trader_id,
                    "direction": direction,
                    "payment_method_id": payment_method_id,
                },
            )
        ).one()
        return row.store_rate, row.trader_rate

    async def store_rates(self, store_id: int) -> list[tuple[str, int | None, Decimal]]:
        return await self._owner_rates(StoreCommission, StoreCommission.store_id == store_id)

    async def trader_rates(self, trader_id: int) -> list[tuple[str, int | None, Decimal]]:
        return await self._owner_rates(TraderCommission, TraderCommission.trader_id == trader_id)

    async def _owner_rates(
        self, model: type[StoreCommission] | type[TraderCommission], owner: ColumnElement[bool]
    ) -> list[tuple[str, int | None, Decimal]]:
        rows = (
            await self.session.execute(
                select(model.direction, model.payment_method_id, model.rate)
                .where(owner)
                .order_by(model.direction, model.payment_method_id.nulls_first())
            )
        ).all()
        return [(str(d), pm, rate) for d, pm, rate in rows]

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
