"""A merchant's orders as the cabinet lists them: incoming orders of the merchant's stores with
their assigned order, filtered by the merchant in SQL (another merchant's order is not found)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.filters import where_equal, where_in_period
from jivapay.adapters.db.models import IncomingOrder, OrderHistory, Store


@dataclasses.dataclass(frozen=True, slots=True)
class MerchantOrderCriteria:
    """A checked filter in the tables' terms (amounts in the currency's minor units); None: any."""

    direction: str | None = None
    store_id: int | None = None
    unassigned_in: tuple[str, ...] | None = None  # incoming statuses, no order assigned yet
    incoming_status: str | None = None
    order_status: str | None = None
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    merchant_order_id: str | None = None
    currency: str | None = None
    amount_min: int | None = None
    amount_max: int | None = None


def _matching(merchant_id: int, c: MerchantOrderCriteria) -> Select[IncomingOrder, OrderHistory]:
    stmt = (
        select(IncomingOrder, OrderHistory)
        .join(Store, and_(Store.id == IncomingOrder.store_id, Store.merchant_id == merchant_id))
        .outerjoin(OrderHistory, OrderHistory.id == IncomingOrder.order_id)
    )
    stmt = where_equal(
        stmt,
        {
            IncomingOrder.direction: c.direction,
            IncomingOrder.store_id: c.store_id,
            IncomingOrder.status: c.incoming_status,
            OrderHistory.status: c.order_status,
            IncomingOrder.merchant_order_id: c.merchant_order_id or None,  # "" filters nothing
            IncomingOrder.currency: c.currency,
        },
    )
    if c.unassigned_in is not None:
        stmt = stmt.where(IncomingOrder.status.in_(c.unassigned_in), OrderHistory.id.is_(None))
    stmt = where_in_period(stmt, IncomingOrder.created_at, c.created_from, c.created_to)
    if c.amount_min is not None:
        stmt = stmt.where(IncomingOrder.amount >= c.amount_min)
    if c.amount_max is not None:
        stmt = stmt.where(IncomingOrder.amount <= c.amount_max)
    return stmt


@dataclasses.dataclass(frozen=True, slots=True)
class MerchantOrderRow:
    """One line of the merchant's order list: the incoming order and its assigned order's part
    (None while unassigned), read as plain columns (no ORM objects for a page of 50)."""

    incoming_id: int
    public_id: str
    store_id: int
    merchant_order_id: str
    direction: str
    status: str  # the incoming order's
    amount: int
    currency: str
    created_at: dt.datetime
    failure_reason: str | None
    order_status: str | None
    order_amount: int | None
    rate: Decimal | None
    completed_at: dt.datetime | None
    expires_at: dt.datetime | None


_ROW_COLUMNS = (
    IncomingOrder.id,
    IncomingOrder.public_id,
    IncomingOrder.store_id,
    IncomingOrder.merchant_order_id,
    IncomingOrder.direction,
    IncomingOrder.status,
    IncomingOrder.amount,
    IncomingOrder.currency,
    IncomingOrder.created_at,
    IncomingOrder.failure_reason,
    OrderHistory.status,
    OrderHistory.amount,
    OrderHistory.rate,
    OrderHistory.completed_at,
    OrderHistory.expires_at,
)


class MerchantOrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def page(
        self, merchant_id: int, criteria: MerchantOrderCriteria, *, starting_after: int | None, limit: int
    ) -> list[MerchantOrderRow]:
        """Newest first; ``starting_after`` is the last incoming order id of the previous page."""
        stmt = _matching(merchant_id, criteria).with_only_columns(*_ROW_COLUMNS)
        if starting_after is not None:
            stmt = stmt.where(IncomingOrder.id < starting_after)
        rows = (await self.session.execute(stmt.order_by(IncomingOrder.id.desc()).limit(limit))).all()
        return [MerchantOrderRow(*tuple(row)) for row in rows]

    async def totals(self, merchant_id: int, criteria: MerchantOrderCriteria) -> list[tuple[str, int, int, int, int]]:
        """Per currency (alphabetical): orders, requested amount, completed orders, their paid amount."""
        sub = (
            _matching(merchant_id, criteria)
            .with_only_columns(
                IncomingOrder.currency.label("currency"),
                IncomingOrder.amount.label("amount"),
                OrderHistory.status.label("status"),
                OrderHistory.amount.label("paid"),
            )
            .subquery()
        )
        completed = sub.c.status == "completed"
        rows = (
            await self.session.execute(
                select(
                    sub.c.currency,
                    func.count(),
                    func.coalesce(func.sum(sub.c.amount), 0),
                    func.count().filter(completed),
                    func.coalesce(func.sum(sub.c.paid).filter(completed), 0),
                )
                .group_by(sub.c.currency)
                .order_by(sub.c.currency)
            )
        ).all()
        return [
            (str(currency), int(count), int(amount), int(done), int(done_amount))
            for currency, count, amount, done, done_amount in rows
        ]

    async def incoming(self, merchant_id: int, incoming_id: int) -> IncomingOrder | None:
        """The merchant's incoming order (one of their stores'); another merchant's is None."""
        stmt = (
            select(IncomingOrder)
            .join(Store, and_(Store.id == IncomingOrder.store_id, Store.merchant_id == merchant_id))
            .where(IncomingOrder.id == incoming_id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()
