"""Orders as other contexts read, lock and flag them (the ledger's settlement, support,
notifications, the gateway's insert, the scheduler). Imports no other service, so any context can
use it without an import cycle."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import IncomingOrder, OrderHistory, OrderStatusChange
from jivapay.adapters.db.orders.orders import OrderRepository


async def find_order(session: AsyncSession, order_id: int) -> OrderHistory | None:
    return await OrderRepository(session).get(order_id)


async def lock_order(session: AsyncSession, order_id: int) -> OrderHistory | None:
    """The order, its row locked for this transaction and its attributes read afresh."""
    return await OrderRepository(session).get(order_id, for_update=True)


async def find_incoming(session: AsyncSession, incoming_id: int, *, fresh: bool = False) -> IncomingOrder | None:
    """The incoming order; ``fresh``: as the database has it now (this transaction's flushed
    changes included), not as this session last loaded it."""
    return await OrderRepository(session).incoming(incoming_id, fresh=fresh)


async def lock_incoming(session: AsyncSession, incoming_id: int) -> IncomingOrder | None:
    """The incoming order, its row locked for this transaction and its attributes read afresh."""
    return await OrderRepository(session).incoming(incoming_id, for_update=True)


async def status_history(session: AsyncSession, order_id: int) -> list[OrderStatusChange]:
    """The order's status changes, oldest first."""
    return await OrderRepository(session).status_history(order_id)


async def flag_settlement_error(session: AsyncSession, order_id: int, reason: str) -> bool:
    """Record why a completed order cannot be settled; False when it is settled or flagged already."""
    return await OrderRepository(session).flag_settlement_error(order_id, reason)


async def claim_due_incoming(session: AsyncSession, limit: int, lease: dt.timedelta) -> list[tuple[int, int]]:
    """(id, attempt) of new and retrying incoming orders whose backoff is over, each pushed a lease
    ahead so one scheduler tick sends it once."""
    return await OrderRepository(session).claim_due_incoming(limit, lease)


async def overdue_orders(session: AsyncSession, limit: int) -> list[int]:
    """Orders still waiting past their deadline."""
    return await OrderRepository(session).overdue(limit)


async def unsettled_orders(session: AsyncSession, limit: int, older_than: dt.timedelta) -> list[int]:
    """Completed orders whose settlement has been missing for longer than ``older_than``."""
    return await OrderRepository(session).unsettled(limit, older_than)


async def insert_incoming_unless_exists(session: AsyncSession, **values: Any) -> IncomingOrder | None:
    """The gateway's new incoming order, or None when its store already has this merchant_order_id."""
    return await OrderRepository(session).insert_incoming_unless_exists(**values)


async def reference_of_merchant_order(session: AsyncSession, store_id: int, merchant_order_id: str) -> str | None:
    """The public reference (``ord_…``) of the store's order with this merchant_order_id."""
    return await OrderRepository(session).incoming_by_merchant_id(store_id, merchant_order_id)
