"""The merchant's orders (seed 000 §3.6 merchant_orders): list with filters and totals, detail,
disputes, CSV export. Ids are the gateway's (incoming order ids); rows are filtered by the
merchant in SQL, so another merchant's order does not exist (404)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import IncomingOrder, OrderHistory
from jivapay.adapters.db.orders.merchant_orders import (
    MerchantOrderCriteria,
    MerchantOrderRepository,
    MerchantOrderRow,
)
from jivapay.adapters.db.platform.reference import ReferenceRepository
from jivapay.domain.errors import Conflict, NotFound, OrderNotAssigned, ValidationFailed
from jivapay.domain.ledger import posting as L
from jivapay.domain.orders.status import DIRECTIONS, PUBLIC_STATUSES, Party
from jivapay.domain.platform.audit import Actor
from jivapay.services.orders import views as order_views
from jivapay.services.orders.status import change_status


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


async def _criteria(session: AsyncSession, f: OrderFilter) -> MerchantOrderCriteria:
    """The filter checked and put in the tables' terms (a public status, an amount in minor units)."""
    unassigned_in: tuple[str, ...] | None = None
    incoming_status: str | None = None
    order_status: str | None = None
    if f.direction is not None and f.direction not in DIRECTIONS:
        raise ValidationFailed("direction is payin or payout", field="direction")
    if f.status is not None:
        if f.status not in PUBLIC_STATUSES:
            raise ValidationFailed(f"status is one of {', '.join(PUBLIC_STATUSES)}", field="status")
        if f.status == "processing":
            unassigned_in = order_views.PROCESSING
        elif f.status in ("failed", "rejected"):
            incoming_status = f.status
        else:
            order_status = f.status
    currency: str | None = None
    amount_min: int | None = None
    amount_max: int | None = None
    if f.amount_min is not None or f.amount_max is not None:
        if not f.currency:
            raise ValidationFailed("an amount range needs the currency", field="currency")
        fiat = await ReferenceRepository(session).fiat_currency(f.currency.upper())
        if fiat is None:
            raise ValidationFailed("unknown currency", field="currency")
        currency = fiat.code
        if f.amount_min is not None:
            amount_min = L.parse_amount(f.amount_min, fiat.minor_units, field="amount_min")
        if f.amount_max is not None:
            amount_max = L.parse_amount(f.amount_max, fiat.minor_units, field="amount_max")
    elif f.currency:
        currency = f.currency.upper()
    return MerchantOrderCriteria(
        direction=f.direction,
        store_id=f.store_id,
        unassigned_in=unassigned_in,
        incoming_status=incoming_status,
        order_status=order_status,
        created_from=f.created_from,
        created_to=f.created_to,
        merchant_order_id=f.merchant_order_id,
        currency=currency,
        amount_min=amount_min,
        amount_max=amount_max,
    )


async def list_orders(
    session: AsyncSession, merchant_id: int, f: OrderFilter, *, starting_after: int | None, limit: int
) -> list[MerchantOrderRow]:
    """Newest first; ``starting_after`` is the last id of the previous page."""
    criteria = await _criteria(session, f)
    return await MerchantOrderRepository(session).page(
        merchant_id, criteria, starting_after=starting_after, limit=limit
    )


async def totals(session: AsyncSession, merchant_id: int, f: OrderFilter) -> list[dict[str, Any]]:
    """Per currency: orders, requested amount, and what completed."""
    rows = await MerchantOrderRepository(session).totals(merchant_id, await _criteria(session, f))
    result = []
    for currency, count, amount, done, done_amount in rows:
        decimals = await ReferenceRepository(session).fiat_minor_units(currency)
        result.append(
            {
                "currency": currency,
                "orders": count,
                "amount": L.format_amount(amount, decimals),
                "completed_orders": done,
                "completed_amount": L.format_amount(done_amount, decimals),
            }
        )
    return result


async def merchant_incoming(
    session: AsyncSession, merchant_id: int, incoming_id: int, *, reference: str | None = None
) -> IncomingOrder:
    row = await MerchantOrderRepository(session).incoming(merchant_id, incoming_id)
    if row is None:
        raise NotFound("Order not found", order_id=reference)
    return row


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
