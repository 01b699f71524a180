"""Incoming orders as the merchants context makes and reads them: the gateway's insert (a
repeated merchant_order_id answers with the existing order's reference) and the fresh read
a callback is built from."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import IncomingOrder
from jivapay.adapters.db.orders.orders import OrderRepository


async def insert_unless_exists(session: AsyncSession, **values: Any) -> IncomingOrder | None:
    """The new incoming order, or None when its store already has this merchant_order_id."""
    return await OrderRepository(session).insert_incoming_unless_exists(**values)


async def reference_of_merchant_order(session: AsyncSession, store_id: int, merchant_order_id: str) -> str | None:
    """The public reference (``ord_…``) of the store's order with this merchant_order_id."""
    return await OrderRepository(session).incoming_by_merchant_id(store_id, merchant_order_id)


async def fresh(session: AsyncSession, incoming_id: int) -> IncomingOrder | None:
    """The incoming order as the database has it now (changes flushed by this transaction included)."""
    return await OrderRepository(session).incoming(incoming_id, fresh=True)
