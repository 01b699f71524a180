from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.filters import where_equal, where_in_period
from jivapay.adapters.db.models import IncomingOrder, OrderHistory, OrderNote, Requisite
from jivapay.domain.orders.status import OrderSearch

# an order as support sees it: the order, its incoming order and its requisite's last 4 digits
FoundRow = tuple[OrderHistory, IncomingOrder | None, str | None]


def _found_statement() -> Select[OrderHistory, IncomingOrder, str]:
    return (
        select(OrderHistory, IncomingOrder, Requisite.number_last4)
        .outerjoin(IncomingOrder, IncomingOrder.id == OrderHistory.incoming_order_id)
        .outerjoin(Requisite, Requisite.id == OrderHistory.requisite_id)
    )


class SupportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- order search ---
    async def search_orders(self, f: OrderSearch, *, starting_after: int | None, limit: int) -> list[FoundRow]:
        """Orders matching every given filter of a checked search, newest first; ``starting_after``
        is the last order id of the previous page."""
        stmt = where_equal(
            _found_statement(),
            {
                OrderHistory.id: f.order_id,
                OrderHistory.public_id: f.public_id,
                IncomingOrder.merchant_order_id: f.merchant_order_id,
                OrderHistory.store_id: f.store_id,
                OrderHistory.trader_id: f.trader_id,
                OrderHistory.amount: f.amount,
                OrderHistory.currency: f.currency,
                Requisite.number_last4: f.requisite_last4,
                OrderHistory.status: f.status,
                OrderHistory.direction: f.direction,
            },
        )
        if f.settlement_failed is not None:
            failed = OrderHistory.settlement_error.is_not(None)
            stmt = stmt.where(failed if f.settlement_failed else ~failed)
        stmt = where_in_period(stmt, OrderHistory.created_at, f.created_from, f.created_to)
        stmt = stmt.order_by(OrderHistory.id.desc()).limit(limit)
        if starting_after is not None:
            stmt = stmt.where(OrderHistory.id < starting_after)
        rows = (await self.session.execute(stmt)).all()
        return [(order, incoming, last4) for order, incoming, last4 in rows]

    async def found_orders(self, order_ids: list[int]) -> list[FoundRow]:
        """The given orders with their incoming order and requisite tail (one query, no order)."""
        rows = (await self.session.execute(_found_statement().where(OrderHistory.id.in_(order_ids)))).all()
        return [(order, incoming, last4) for order, incoming, last4 in rows]

    async def notes(self, order_id: int) -> list[OrderNote]:
        stmt = select(OrderNote).where(OrderNote.order_id == order_id).order_by(OrderNote.id)
        return list(await self.session.scalars(stmt))

    async def add_note(self, note: OrderNote) -> OrderNote:
        self.session.add(note)
        await self.session.flush()
        return note

    # --- the fraud manual-review queue ---
    async def review_queue(self, *, starting_after: int | None, limit: int) -> list[IncomingOrder]:
        """Incoming orders held for a manual fraud review, oldest first."""
        stmt = select(IncomingOrder).where(IncomingOrder.status == "review").order_by(IncomingOrder.id).limit(limit)
        if starting_after is not None:
            stmt = stmt.where(IncomingOrder.id > starting_after)
        return list((await self.session.scalars(stmt)).all())
