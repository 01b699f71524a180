"""Order actors: assignment of incoming orders (the scheduler and the gateway enqueue it)."""

from __future__ import annotations

from jivapay.adapters.db.uow import atomic
from jivapay.adapters.resources import get_resources
from jivapay.services.orders.processing import process_incoming_order
from jivapay.services.orders.status import expire_order
from jivapay.worker.actors.base import jivapay_actor


@jivapay_actor("orders.assign", max_retries=5, min_backoff_ms=1_000)
async def assign(incoming_order_id: int, attempt: int = 0) -> None:
    """Idempotent: an order that is no longer new/retrying, or whose ``attempt`` (its retry count
    when the message was sent) has been made already, is left alone."""
    await process_incoming_order(get_resources().session_factory, incoming_order_id, attempt)


@jivapay_actor("orders.expire", max_retries=5)
async def expire(order_id: int) -> None:
    """Idempotent: an order no longer waiting, or not yet overdue, is left alone."""
    async with atomic(get_resources().session_factory, name="orders.expire") as session:
        await expire_order(session, order_id)
