"""The order status manager (seed 000 §3.5): every status change goes through ``change_status``.

It checks who may make the move (the transition table in ``domain.orders``), that the order
is theirs, and applies the money side in the same transaction: completion queues the
settlement through the outbox; cancel/decline/expiry releases the hold and the requisite's
usage counters.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import OrderHistory, OrderStatusChange
from jivapay.adapters.db.orders.orders import OrderRepository
from jivapay.adapters.db.orders.selection import SelectionRepository
from jivapay.domain.errors import NotFound, ValidationFailed
from jivapay.domain.orders.status import (
    DIRECTIONS,
    FINAL,
    ORDER_STATUSES,
    REASON_REQUIRED,
    RELEASING,
    Party,
    check_transition,
)
from jivapay.domain.platform.audit import Actor, Target
from jivapay.services.ledger import posting
from jivapay.services.merchants import callbacks
from jivapay.services.merchants.stores import merchant_of_store
from jivapay.services.orders import disputes
from jivapay.services.platform.audit import log_action
from jivapay.services.platform.config import get_config
from jivapay.services.platform.outbox import enqueue_after_commit

log = logging.getLogger("jivapay.orders")

# a status that waits on someone gets a new deadline (expires_at) from this setting
DEADLINES = {
    ("payin", "client_confirmed"): "PAYIN_CONFIRMATION_TIMEOUT_MINUTES",
    ("payout", "trader_paid"): "PAYOUT_CONFIRMATION_TIMEOUT_MINUTES",
}
# what the scheduler does to an order still waiting past its deadline
ON_DEADLINE = {
    "pending_payment": ("expired", "the customer did not pay in time"),
    "pending": ("expired", "the trader did not pay out in time"),
    "client_confirmed": ("disputed", "the trader did not confirm the customer's payment in time"),
    "trader_paid": ("completed", "the merchant did not dispute the pay-out in time"),
}


async def _check_owner(
    session: AsyncSession,
    order: OrderHistory,
    party: Party,
    *,
    trader_id: int | None,
    merchant_id: int | None,
    store_id: int | None,
) -> None:
    """Someone else's order does not exist for the caller (404)."""
    if party == Party.TRADER and order.trader_id != trader_id:
        raise NotFound("Order not found", order_id=order.id)
    if party == Party.CUSTOMER and order.store_id != store_id:
        raise NotFound("Order not found", order_id=order.id)
    if party == Party.MERCHANT:
        owner = await merchant_of_store(session, order.store_id)
        if owner is None or owner != merchant_id:
            raise NotFound("Order not found", order_id=order.id)


async def _return_for_another_trader(session: AsyncSession, order: OrderHistory) -> None:
    """A declined pay-out goes back to the processor for another trader. The store's USDT stays
    frozen meanwhile: the order's hold moves to the incoming order in this transaction, and is
    released only when the pay-out finally fails or is rejected (docs/ledger.md, "Holds")."""
    assert order.incoming_order_id is not None
    waiting: str | None = None
    hold = await posting.find_hold(session, posting.order_hold_reference(order.id))
    if hold is not None and hold.status == "active":
        waiting = posting.payout_waiting_hold_reference(order.incoming_order_id, order.id)
        await posting.move_hold(
            session,
            posting.order_hold_reference(order.id),
            waiting,
            owner_type="store",
            owner_id=order.store_id,
            order_id=order.id,
        )
    await OrderRepository(session).reopen_incoming(order.incoming_order_id, store_hold_reference=waiting)


async def change_status(
    session: AsyncSession,
    order_id: int,
    target: str,
    *,
    party: Party,
    actor: Actor,
    reason: str | None = None,
    trader_id: int | None = None,
    merchant_id: int | None = None,
    store_id: int | None = None,
    ip: str | None = None,
) -> OrderHistory:
    repo = OrderRepository(session)
    order = await repo.get(order_id, for_update=True)
    if order is None:
        raise NotFound("Order not found", order_id=order_id)
    await _check_owner(session, order, party, trader_id=trader_id, merchant_id=merchant_id, store_id=store_id)
    if order.status == target:
        return order  # a repeated request: already done
    check_transition(order.direction, order.status, target, party)
    reason = (reason or "").strip() or None
    if party in REASON_REQUIRED and reason is None:
        raise ValidationFailed("a reason is required for this change", field="reason")
    previous = order.status
    order.status = target
    day = order.created_at.astimezone(dt.UTC).date()
    deadline_key = DEADLINES.get((order.direction, target))
    if deadline_key is not None:
        minutes = await get_config(deadline_key, int, session=session)
        order.expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)
    if target == "disputed":
        await disputes.open_for(session, order, party=party, actor=actor, reason=reason)
        await enqueue_after_commit(session, "notifications.order_alert", order_id=order.id, kind="dispute")
    if previous == "disputed":
        await disputes.close_for(session, order.id, outcome=target, actor=actor, comment=reason)
    if target == "completed":
        order.completed_at = dt.datetime.now(dt.UTC)
        await enqueue_after_commit(session, "ledger.settle", order_id=order.id)
    if target in FINAL and order.requisite_id is not None:
        await SelectionRepository(session).give_back(
            order.requisite_id, order.amount, day, order.id, cancelled=target in RELEASING
        )
    if target == "declined" and order.incoming_order_id is not None:
        await _return_for_another_trader(session, order)
    elif target in RELEASING:
        hold = await posting.find_hold(session, posting.order_hold_reference(order.id))
        if hold is not None and hold.status == "active":
            await posting.release(session, posting.order_hold_reference(order.id), order_id=order.id)
    await repo.add_status_change(
        OrderStatusChange(
            order_id=order.id,
            from_status=previous,
            to_status=target,
            party=party.value,
            actor=str(actor),
            reason=reason,
        )
    )
    await log_action(
        session,
        actor,
        "order.status",
        Target.of("order", order.id),
        {"from": previous, "to": target, "party": party.value, "reason": reason},
        ip=ip,
    )
    if order.incoming_order_id is not None:
        await callbacks.record_event(session, order.incoming_order_id, event_type=f"{order.direction}.{target}")
    log.info("order status changed", extra={"order_id": order.id, "from": previous, "to": target})
    return order


async def trader_orders(
    session: AsyncSession,
    trader_id: int,
    *,
    status: str | None,
    direction: str | None,
    starting_after: int | None,
    limit: int,
) -> list[OrderHistory]:
    """Newest first; a status or direction that no order can have is refused (as staff searches do)."""
    if status is not None and status not in ORDER_STATUSES:
        raise ValidationFailed("unknown order status", field="status", allowed=sorted(ORDER_STATUSES))
    if direction is not None and direction not in DIRECTIONS:
        raise ValidationFailed("direction is payin or payout", field="direction")
    return await OrderRepository(session).list_for_trader(
        trader_id, status=status, direction=direction, starting_after=starting_after, limit=limit
    )


async def trader_order(session: AsyncSession, trader_id: int, order_id: int) -> OrderHistory:
    order = await OrderRepository(session).get(order_id)
    if order is None or order.trader_id != trader_id:
        raise NotFound("Order not found", order_id=order_id)
    return order


async def expire_order(session: AsyncSession, order_id: int) -> OrderHistory | None:
    """The scheduler's deadline check (idempotent): an order still waiting past its deadline
    expires (nobody paid), goes to dispute (customer says paid, trader silent) or completes
    (pay-out marked paid, merchant silent)."""
    order = await OrderRepository(session).get(order_id)
    if order is None or order.status not in ON_DEADLINE:
        return None
    if order.expires_at is None or order.expires_at > dt.datetime.now(dt.UTC):
        return None
    target, reason = ON_DEADLINE[order.status]
    return await change_status(
        session, order_id, target, party=Party.SYSTEM, actor=Actor.system("expiry"), reason=reason
    )
