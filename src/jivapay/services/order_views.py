"""How an order looks from outside: the gateway's status answer and a callback's ``order``.

Its id is the incoming order's (stable from init); its status is the incoming order's while
it is processed (``processing``, ``failed``, ``rejected``) and the assigned order's after.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import Bank, FiatCurrency, IncomingOrder, OrderHistory, PaymentMethod, Requisite
from jivapay.adapters.db.repositories.orders import OrderRepository
from jivapay.adapters.security import decrypt_secret
from jivapay.domain import ledger as L
from jivapay.domain.errors import NotFound
from jivapay.domain.pii import mask_name, mask_number
from jivapay.settings import Settings

PROCESSING = ("new", "retrying", "review")
CACHE_SECONDS = 30.0
_minor_units: dict[str, tuple[float, int]] = {}
_method_codes: dict[int, tuple[float, str | None]] = {}


async def _reference_of(session: AsyncSession, currency: str, method_id: int) -> tuple[int, str | None]:
    """A currency's minor units and a payment method's code (immutable in practice; cached)."""
    now = time.monotonic()
    units = _minor_units.get(currency)
    if units is None or units[0] < now:
        fiat = await session.get(FiatCurrency, currency)
        units = _minor_units[currency] = (now + CACHE_SECONDS, fiat.minor_units if fiat else 2)
    code = _method_codes.get(method_id)
    if code is None or code[0] < now:
        method = await session.get(PaymentMethod, method_id)
        code = _method_codes[method_id] = (now + CACHE_SECONDS, method.code if method else None)
    return units[1], code[1]


def public_status(incoming: IncomingOrder, order: OrderHistory | None) -> str:
    if order is not None:
        return order.status
    if incoming.status in PROCESSING or incoming.status == "assigned":
        return "processing"
    return incoming.status  # failed | rejected


async def order_view(
    session: AsyncSession, settings: Settings, store_id: int, incoming_id: int, *, reveal: bool = True
) -> dict[str, Any]:
    """The order as the status API shows it (and callbacks carry, with ``reveal=False``).

    ``reveal``: the requisite's full number (the customer must see it to pay).
    """
    incoming = await OrderRepository(session).incoming(incoming_id)
    if incoming is None or incoming.store_id != store_id:
        raise NotFound("Order not found", order_id=incoming_id)
    return await view_of(session, settings, incoming, reveal=reveal)


async def view_of(
    session: AsyncSession, settings: Settings, incoming: IncomingOrder, *, reveal: bool
) -> dict[str, Any]:
    order = await session.get(OrderHistory, incoming.order_id) if incoming.order_id else None
    decimals, method_code = await _reference_of(session, incoming.currency, incoming.payment_method_id)
    view: dict[str, Any] = {
        "id": incoming.id,
        "merchant_order_id": incoming.merchant_order_id,
        "direction": incoming.direction,
        "status": public_status(incoming, order),
        "amount": L.format_amount(incoming.amount, decimals),
        "currency": incoming.currency,
        "payment_method": method_code,
        "created_at": incoming.created_at.isoformat(),
        "expires_at": order.expires_at.isoformat() if order and order.expires_at else None,
        "failure_reason": incoming.failure_reason if incoming.status in ("failed", "rejected") else None,
        "pay_amount": None,
        "requisite": None,
        "recipient_last4": incoming.recipient_last4,
    }
    if order is not None:
        view["pay_amount"] = L.format_amount(order.amount, decimals)
        view["rate"] = str(order.rate)
        if incoming.direction == "payin" and order.requisite_id is not None:
            requisite = await session.get(Requisite, order.requisite_id)
            if requisite is not None:
                bank = await session.get(Bank, requisite.bank_id)
                number = decrypt_secret(settings, requisite.number_encrypted) if reveal else None
                view["requisite"] = {
                    "type": requisite.type,
                    "bank": bank.name if bank else None,
                    "owner_name": mask_name(requisite.owner_name),
                    "number": number if number else mask_number("*" * 12 + requisite.number_last4),
                }
    return view
