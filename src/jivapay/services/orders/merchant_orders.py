"""The merchant's orders (seed 000 §3.6 merchant_orders): list with filters and totals, detail,
disputes, CSV export. Ids are the gateway's (incoming order ids); rows are filtered by the
merchant in SQL, so another merchant's order does not exist (404)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import FiatCurrency, IncomingOrder, OrderHistory, OrderStatusChange, Store
from jivapay.adapters.db.platform.reference import ReferenceRepository
from jivapay.domain.errors import Conflict, NotFound, OrderNotAssigned, ValidationFailed
from jivapay.domain.ledger import posting as L
from jivapay.domain.orders.status import Party
from jivapay.domain.platform.audit import Actor
from jivapay.services.orders import views as order_views
from jivapay.services.orders.status import change_status

PUBLIC_STATUSES = (
    "processing",
    "failed",
    "rejected",
    "pending_payment",
    "client_confirmed",
    "pending",
    "trader_paid",
    "completed",
    "canceled",
    "expired",
    "declined",
    "disputed",
)


@dataclasses.dataclass(frozen=True, slots=True)
class OrderFilter:
    store_id: int | None = None
    direction: str | None = None
    status: str | None = None
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    merchant_order_id: str | None = None
    amount_min: str | None = None
    amount_max: str | None = None
    currency: str | None = None


def _base(merchant_id: int) -> Select[IncomingOrder, OrderHistory]:
    return (
        select(IncomingOrder, OrderHistory)
        .join(Store, and_(Store.id == IncomingOrder.store_id, Store.merchant_id == merchant_id))
        .outerjoin(OrderHistory, OrderHistory.id == IncomingOrder.order_id)
    )


async def _filtered(
    session: AsyncSession, stmt: Select[IncomingOrder, OrderHistory], f: OrderFilter
) -> Select[IncomingOrder, OrderHistory]:
    if f.direction is not None:
        if f.direction not in ("payin", "payout"):
            raise ValidationFailed("direction is payin or payout", field="direction")
        stmt = stmt.where(IncomingOrder.direction == f.direction)
    if f.store_id is not None:
        stmt = stmt.where(IncomingOrder.store_id == f.store_id)
    if f.status is not None:
        if f.status not in PUBLIC_STATUSES:
            raise ValidationFailed(f"status is one of {', '.join(PUBLIC_STATUSES)}", field="status")
        if f.status == "processing":
            stmt = stmt.where(IncomingOrder.status.in_(order_views.PROCESSING), OrderHistory.id.is_(None))
        elif f.status in ("failed", "rejected"):
            stmt = stmt.where(IncomingOrder.status == f.status)
        else:
            stmt = stmt.where(OrderHistory.status == f.status)
    if f.created_from is not None:
        stmt = stmt.where(IncomingOrder.created_at >= f.created_from)
    if f.created_to is not None:
        stmt = stmt.where(IncomingOrder.created_at < f.created_to)
    if f.merchant_order_id:
        stmt = stmt.where(IncomingOrder.merchant_order_id == f.merchant_order_id)
    if f.amount_min is not None or f.amount_max is not None:
        if not f.currency:
            raise ValidationFailed("an amount range needs the currency", field="currency")
        fiat = await session.get(FiatCurrency, f.currency.upper())
        if fiat is None:
            raise ValidationFailed("unknown currency", field="currency")
        stmt = stmt.where(IncomingOrder.currency == fiat.code)
        if f.amount_min is not None:
            stmt = stmt.where(
                IncomingOrder.amount >= L.parse_amount(f.amount_min, fiat.minor_units, field="amount_min")
            )
        if f.amount_max is not None:
            stmt = stmt.where(
                IncomingOrder.amount <= L.parse_amount(f.amount_max, fiat.minor_units, field="amount_max")
            )
    elif f.currency:
        stmt = stmt.where(IncomingOrder.currency == f.currency.upper())
    return stmt


async def list_orders(
    session: AsyncSession, merchant_id: int, f: OrderFilter, *, starting_after: int | None, limit: int
) -> Sequence[Any]:
    """Newest first; ``starting_after`` is the last id of the previous page."""
    stmt = await _filtered(session, _base(merchant_id), f)
    if starting_after is not None:
        stmt = stmt.where(IncomingOrder.id < starting_after)
    return list((await session.execute(stmt.order_by(IncomingOrder.id.desc()).limit(limit))).all())


async def totals(session: AsyncSession, merchant_id: int, f: OrderFilter) -> list[dict[str, Any]]:
    """Per currency: orders, requested amount, and what completed."""
    base = await _filtered(session, _base(merchant_id), f)
    sub = base.with_only_columns(
        IncomingOrder.currency.label("currency"),
        IncomingOrder.amount.label("amount"),
        OrderHistory.status.label("status"),
        OrderHistory.amount.label("paid"),
    ).subquery()
    completed = sub.c.status == "completed"
    rows = (
        await session.execute(
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
    result = []
    for currency, count, amount, done, done_amount in rows:
        decimals = await ReferenceRepository(session).fiat_minor_units(currency)
        result.append(
            {
                "currency": currency,
                "orders": int(count),
                "amount": L.format_amount(int(amount), decimals),
                "completed_orders": int(done),
                "completed_amount": L.format_amount(int(done_amount), decimals),
            }
        )
    return result


async def merchant_incoming(
    session: AsyncSession, merchant_id: int, incoming_id: int, *, reference: str | None = None
) -> IncomingOrder:
    row = (
        await session.execute(
            select(IncomingOrder)
            .join(Store, and_(Store.id == IncomingOrder.store_id, Store.merchant_id == merchant_id))
            .where(IncomingOrder.id == incoming_id)
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("Order not found", order_id=reference)
    return row


async def status_history(session: AsyncSession, order_id: int | None) -> list[OrderStatusChange]:
    if order_id is None:
        return []
    stmt = select(OrderStatusChange).where(OrderStatusChange.order_id == order_id).order_by(OrderStatusChange.id)
    return list((await session.scalars(stmt)).all())


async def open_dispute(
    session: AsyncSession, merchant_id: int, incoming_id: int, comment: str, actor: Actor, ip: str | None
) -> OrderHistory:
    """The merchant disputes a pay-in the customer says they paid, or a pay-out the trader says they paid."""
    comment = comment.strip()
    if not 3 <= len(comment) <= 2000:
        raise ValidationFailed("a dispute needs a comment of 3-2000 characters", field="comment")
    incoming = await merchant_incoming(session, merchant_id, incoming_id)
    if incoming.order_id is None:
        raise NotFound("The order has not been assigned: there is nothing to dispute", order_id=incoming_id)
    return await change_status(
        session,
        incoming.order_id,
        "disputed",
        party=Party.MERCHANT,
        actor=actor,
        reason=comment,
        merchant_id=merchant_id,
        ip=ip,
    )


async def confirm_payout(
    session: AsyncSession, merchant_id: int, incoming_id: int, actor: Actor, ip: str | None
) -> OrderHistory:
    """The merchant, in the cabinet, confirms a pay-out the trader marked paid."""
    incoming = await merchant_incoming(session, merchant_id, incoming_id)
    return await complete_payout(session, incoming, actor=actor, merchant_id=merchant_id, ip=ip)


async def complete_payout(
    session: AsyncSession, incoming: IncomingOrder, *, actor: Actor, merchant_id: int, ip: str | None
) -> OrderHistory:
    """trader_paid → completed by the merchant (cabinet and gateway alike); a repeat after completion
    is a no-op that answers the order. The status change audits it, records the callback and
    queues the settlement."""
    if incoming.direction != "payout":
        raise Conflict("Only a pay-out can be confirmed by the merchant", direction=incoming.direction)
    if incoming.order_id is None:
        raise OrderNotAssigned(status=order_views.public_status(incoming, None))
    return await change_status(
        session, incoming.order_id, "completed", party=Party.MERCHANT, actor=actor, merchant_id=merchant_id, ip=ip
    )
