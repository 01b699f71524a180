"""How an order looks from outside: the gateway's status answer and a callback's ``order``.

Its id is the order's public reference (``ord_…``, stable from init, the same for every
role); its status is the incoming order's while it is processed (``processing``, ``failed``,
``rejected``) and the assigned order's after.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import IncomingOrder, OrderHistory
from jivapay.adapters.db.orders.orders import OrderFacts, OrderRepository, RequisiteFacts
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
    return shown_status(incoming.status, order.status if order is not None else None)


def shown_status(incoming_status: str, order_status: str | None) -> str:
    """The assigned order's status; before there is one, the incoming order's (else failed | rejected)."""
    if order_status is not None:
        return order_status
    return "processing" if incoming_status in PROCESSING else incoming_status


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
    requisite = None
    if order is not None and incoming.direction == "payin" and order.requisite_id is not None:
        found = await RequisiteRepository(session).find(order.requisite_id)
        if found is not None:
            bank = await ReferenceRepository(session).bank(found.bank_id)
            requisite = RequisiteFacts(
                found.type, bank.name if bank else None, found.owner_name, found.number_encrypted, found.number_last4
            )
    facts = OrderFacts(
        incoming_id=incoming.id,
        public_id=incoming.public_id,
        merchant_order_id=incoming.merchant_order_id,
        direction=incoming.direction,
        status=incoming.status,
        amount=incoming.amount,
        currency=incoming.currency,
        payment_method_id=incoming.payment_method_id,
        created_at=incoming.created_at,
        failure_reason=incoming.failure_reason,
        recipient_last4=incoming.recipient_last4,
        order_status=order.status if order else None,
        order_amount=order.amount if order else None,
        rate=order.rate if order else None,
        expires_at=order.expires_at if order else None,
        requisite=requisite,
    )
    return await view_from(session, settings, facts, reveal=reveal)


async def store_view(
    session: AsyncSession, settings: Settings, store_id: int, reference: str, *, reveal: bool = True
) -> tuple[int, dict[str, Any]]:
    """The store's order by its public reference, and its view, from one statement (the status
    API's read, long-polled); another store's order does not exist (404)."""
    facts = await OrderRepository(session).store_order_facts(store_id, reference)
    if facts is None:
        raise NotFound("Order not found", order_id=reference)
    return facts.incoming_id, await view_from(session, settings, facts, reveal=reveal)


async def view_from(session: AsyncSession, settings: Settings, facts: OrderFacts, *, reveal: bool) -> dict[str, Any]:
    reference_data = ReferenceRepository(session)
    decimals = await reference_data.fiat_minor_units(facts.currency)
    method_code = await _method_code(session, facts.payment_method_id)
    assigned = facts.order_status is not None
    status = shown_status(facts.status, facts.order_status)
    view: dict[str, Any] = {
        "id": facts.public_id,
        "merchant_order_id": facts.merchant_order_id,
        "direction": facts.direction,
        "status": status,
        "amount": L.format_amount(facts.amount, decimals),
        "currency": facts.currency,
        "payment_method": method_code,
        "created_at": rfc3339(facts.created_at),
        "expires_at": rfc3339(facts.expires_at) if facts.expires_at else None,
        "failure_reason": facts.failure_reason if facts.status in ("failed", "rejected") else None,
        "pay_amount": None,
        "requisite": None,
        "recipient_last4": facts.recipient_last4,
    }
    if assigned:
        view["pay_amount"] = L.format_amount(int(facts.order_amount or 0), decimals)
        view["rate"] = str(facts.rate)
        requisite = facts.requisite
        if facts.direction == "payin" and requisite is not None:
            number = decrypt_secret(settings, requisite.number_encrypted) if reveal else None
            view["requisite"] = {
                "type": requisite.type,
                "bank": requisite.bank_name,
                "owner_name": mask_name(requisite.owner_name),
                "number": number if number else mask_number("*" * 12 + requisite.number_last4),
            }
    return view
