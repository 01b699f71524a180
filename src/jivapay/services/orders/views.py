"""How an order looks from outside: the gateway's status answer and a callback's ``order``.

Its id is the order's public reference (``ord_…``, stable from init, the same for every
role); its status is the incoming order's while it is processed (``processing``, ``failed``,
``rejected``) and the assigned order's after.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import IncomingOrder, OrderHistory
from jivapay.adapters.db.orders.orders import OrderRepository
from jivapay.adapters.db.orders.requisites import RequisiteRepository
from jivapay.adapters.db.platform.reference import ReferenceRepository
from jivapay.adapters.memo import Memo
from jivapay.adapters.security import decrypt_secret
from jivapay.domain.errors import NotFound
from jivapay.domain.ledger import posting as L
from jivapay.domain.periods import rfc3339
from jivapay.domain.pii import mask_name, mask_number
from jivapay.settings import Settings

# incoming statuses shown as "processing" (assigned: for the instant before its order is visible)
PROCESSING = ("new", "retrying", "review", "assigned")
CACHE_SECONDS = 30.0
_method_codes: Memo[int, str | None] = Memo("orders.method_codes", maxsize=1000, ttl=CACHE_SECONDS)


async def _method_code(session: AsyncSession, method_id: int) -> str | None:
    """A payment method's code (immutable in practice; cached per process)."""

    async def load() -> str | None:
        method = await ReferenceRepository(session).payment_method(method_id)
        return method.code if method else None

    return await _method_codes.get_or_load(method_id, load)


def public_status(incoming: IncomingOrder, order: OrderHistory | None) -> str:
    if order is not None:
        return order.status
    return "processing" if incoming.status in PROCESSING else incoming.status  # else failed | rejected


async def order_view(
    session: AsyncSession, settings: Settings, store_id: int, incoming_id: int, *, reveal: bool = True
) -> dict[str, Any]:
    """The order as the status API shows it (and callbacks carry, with ``reveal=False``).

    ``reveal``: the requisite's full number (the customer must see it to pay).
    """
    return await view_of(session, settings, await store_incoming(session, store_id, incoming_id), reveal=reveal)


async def store_incoming(session: AsyncSession, store_id: int, incoming_id: int) -> IncomingOrder:
    """A store's order by its gateway id; another store's does not exist (404)."""
    incoming = await OrderRepository(session).incoming(incoming_id)
    if incoming is None or incoming.store_id != store_id:
        raise NotFound("Order not found", order_id=incoming_id)
    return incoming


async def view_of(
    session: AsyncSession, settings: Settings, incoming: IncomingOrder, *, reveal: bool
) -> dict[str, Any]:
    order = await OrderRepository(session).find(incoming.order_id) if incoming.order_id else None
    reference_data = ReferenceRepository(session)
    decimals = await reference_data.fiat_minor_units(incoming.currency)
    method_code = await _method_code(session, incoming.payment_method_id)
    view: dict[str, Any] = {
        "id": incoming.public_id,
        "merchant_order_id": incoming.merchant_order_id,
        "direction": incoming.direction,
        "status": public_status(incoming, order),
        "amount": L.format_amount(incoming.amount, decimals),
        "currency": incoming.currency,
        "payment_method": method_code,
        "created_at": rfc3339(incoming.created_at),
        "expires_at": rfc3339(order.expires_at) if order and order.expires_at else None,
        "failure_reason": incoming.failure_reason if incoming.status in ("failed", "rejected") else None,
        "pay_amount": None,
        "requisite": None,
        "recipient_last4": incoming.recipient_last4,
    }
    if order is not None:
        view["pay_amount"] = L.format_amount(order.amount, decimals)
        view["rate"] = str(order.rate)
        if incoming.direction == "payin" and order.requisite_id is not None:
            requisite = await RequisiteRepository(session).find(order.requisite_id)
            if requisite is not None:
                bank = await reference_data.bank(requisite.bank_id)
                number = decrypt_secret(settings, requisite.number_encrypted) if reveal else None
                view["requisite"] = {
                    "type": requisite.type,
                    "bank": bank.name if bank else None,
                    "owner_name": mask_name(requisite.owner_name),
                    "number": number if number else mask_number("*" * 12 + requisite.number_last4),
                }
    return view
