"""An order's public reference (``ord_…``) resolved to the internal id each role works with.

Paths take the reference; services keep taking internal ids. A malformed reference, an
unknown one and another owner's order are the same 404.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.orders.orders import OrderRepository
from jivapay.domain.errors import NotFound
from jivapay.domain.orders.status import is_order_reference
from jivapay.services.orders import merchant_orders


def _not_found(reference: str) -> NotFound:
    return NotFound("Order not found", order_id=reference)


async def merchant_incoming_id(session: AsyncSession, store_id: int, reference: str) -> int:
    """The store's incoming order (the gateway's and cabinet's order)."""
    found = (
        await OrderRepository(session).store_incoming_id(store_id, reference) if is_order_reference(reference) else None
    )
    if found is None:
        raise _not_found(reference)
    return found


async def cabinet_incoming_id(session: AsyncSession, merchant_id: int, reference: str) -> int:
    """The merchant's incoming order (any of their stores)."""
    found = await OrderRepository(session).incoming_id_of(reference) if is_order_reference(reference) else None
    if found is None:
        raise _not_found(reference)
    return (await merchant_orders.merchant_incoming(session, merchant_id, found, reference=reference)).id


async def incoming_references(session: AsyncSession, incoming_ids: list[int]) -> dict[int, str]:
    """Incoming order id → its public reference, for lists that hold internal ids."""
    return await OrderRepository(session).incoming_references(incoming_ids)


async def trader_order_id(session: AsyncSession, trader_id: int, reference: str) -> int:
    """The trader's own assigned order (after a decline each trader reaches the one that was theirs)."""
    found = (
        await OrderRepository(session).trader_order_id(trader_id, reference) if is_order_reference(reference) else None
    )
    if found is None:
        raise _not_found(reference)
    return found


async def staff_order_id(session: AsyncSession, reference: str) -> int:
    """Support's and admin's order: the live one, else the newest declined."""
    found = await OrderRepository(session).live_order_id(reference) if is_order_reference(reference) else None
    if found is None:
        raise _not_found(reference)
    return found


async def staff_incoming_id(session: AsyncSession, reference: str) -> int:
    """Support's incoming order (the fraud review queue's rows)."""
    found = await OrderRepository(session).incoming_id_of(reference) if is_order_reference(reference) else None
    if found is None:
        raise _not_found(reference)
    return found
