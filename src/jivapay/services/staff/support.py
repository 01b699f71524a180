"""Support's work on orders (seed 000 §3.6 support_orders): search, the full picture of one
order, notes, and the fraud manual-review queue (approve → back to processing, reject).

Disputes are in ``services.disputes``; status moves go through the status manager.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import (
    IncomingOrder,
    OrderDispute,
    OrderHistory,
    OrderNote,
    OrderStatusChange,
    Receipt,
)
from jivapay.adapters.db.staff.support import SupportRepository
from jivapay.domain.errors import Conflict, NotFound, ValidationFailed
from jivapay.domain.orders.status import OrderSearch
from jivapay.domain.platform.audit import Actor, Target
from jivapay.services.orders import disputes, receipts
from jivapay.services.orders import records as order_records
from jivapay.services.orders.processing import reject_incoming
from jivapay.services.platform.audit import log_action
from jivapay.services.platform.outbox import enqueue_after_commit


@dataclasses.dataclass(frozen=True, slots=True)
class FoundOrder:
    order: OrderHistory
    incoming: IncomingOrder | None
    requisite_last4: str | None


async def search_orders(
    session: AsyncSession, f: OrderSearch, *, starting_after: int | None, limit: int
) -> list[FoundOrder]:
    """Newest first; ``starting_after`` is the last order id of the previous page."""
    rows = await SupportRepository(session).search_orders(f.checked(), starting_after=starting_after, limit=limit)
    return [FoundOrder(order, incoming, last4) for order, incoming, last4 in rows]


async def found_orders(session: AsyncSession, order_ids: list[int]) -> dict[int, FoundOrder]:
    """The given orders with their incoming order and requisite tail, by id (one query)."""
    if not order_ids:
        return {}
    rows = await SupportRepository(session).found_orders(order_ids)
    return {order.id: FoundOrder(order, incoming, last4) for order, incoming, last4 in rows}


@dataclasses.dataclass(frozen=True, slots=True)
class OrderCase:
    """Everything support needs to judge an order."""

    found: FoundOrder
    history: list[OrderStatusChange]
    receipts: list[Receipt]
    notes: list[OrderNote]
    dispute: OrderDispute | None


async def order_case(session: AsyncSession, order_id: int) -> OrderCase:
    found = await search_orders(session, OrderSearch(order_id=order_id), starting_after=None, limit=1)
    if not found:
        raise NotFound("Order not found", order_id=order_id)
    history = await order_records.status_history(session, order_id)
    on_file = await receipts.all_receipts(session, order_id)
    notes = await SupportRepository(session).notes(order_id)
    dispute = await disputes.dispute_of(session, order_id)
    return OrderCase(found[0], history, on_file, notes, dispute)


async def current_status(session: AsyncSession, order_id: int) -> str:
    order = await order_records.find_order(session, order_id)
    if order is None:
        raise NotFound("Order not found", order_id=order_id)
    return order.status


async def add_note(session: AsyncSession, order_id: int, body: str, *, actor: Actor, ip: str | None) -> OrderNote:
    body = body.strip()
    if not 1 <= len(body) <= 4000:
        raise ValidationFailed("a note is 1-4000 characters", field="body")
    if await order_records.find_order(session, order_id) is None:
        raise NotFound("Order not found", order_id=order_id)
    note = await SupportRepository(session).add_note(OrderNote(order_id=order_id, author=str(actor), body=body))
    await log_action(session, actor, "order.note", Target.of("order", order_id), {"note_id": note.id}, ip=ip)
    return note


# --- the fraud manual-review queue ------------------------------------------------------


async def review_queue(session: AsyncSession, *, starting_after: int | None, limit: int) -> list[IncomingOrder]:
    """Incoming orders held for a manual fraud review, oldest first."""
    return await SupportRepository(session).review_queue(starting_after=starting_after, limit=limit)


async def _reviewed(session: AsyncSession, incoming_id: int) -> IncomingOrder:
    incoming = await order_records.lock_incoming(session, incoming_id)
    if incoming is None:
        raise NotFound("Order not found")
    if incoming.status != "review":
        raise Conflict(
            "The order is not waiting for a fraud review", order_id=incoming.public_id, status=incoming.status
        )
    return incoming


def _comment(comment: str) -> str:
    return disputes.check_comment(comment, "a review decision")


async def approve_review(
    session: AsyncSession, incoming_id: int, comment: str, *, actor: Actor, ip: str | None
) -> IncomingOrder:
    """Cleared by a person: back to processing now, and the fraud rules are not asked again."""
    comment = _comment(comment)
    incoming = await _reviewed(session, incoming_id)
    incoming.status = "new"
    incoming.retry_count = 0  # a fresh start: the review's wait is not a failed attempt
    incoming.fraud_cleared_by = str(actor)
    incoming.failure_reason = None
    incoming.next_attempt_at = dt.datetime.now(dt.UTC)
    await log_action(
        session, actor, "fraud.review_approve", Target.of("incoming_order", incoming_id), {"comment": comment}, ip=ip
    )
    await enqueue_after_commit(session, "orders.assign", incoming_order_id=incoming_id)
    return incoming


async def reject_review(
    session: AsyncSession, incoming_id: int, comment: str, *, actor: Actor, ip: str | None
) -> IncomingOrder:
    """Refused by a person: the order ends rejected, a pay-out's frozen funds go back to the store."""
    comment = _comment(comment)
    incoming = await _reviewed(session, incoming_id)
    await log_action(
        session, actor, "fraud.review_reject", Target.of("incoming_order", incoming_id), {"comment": comment}, ip=ip
    )
    await reject_incoming(session, incoming, "rejected after fraud review")
    return incoming
