"""The merchant gateway (seed 000 §3.7 gateway_service): orders in, their status out.

An init creates an incoming order and queues its assignment; the order's public id is the
incoming order's id, stable from init to the end. Its public status is the incoming
order's while it is being processed (``processing``, ``failed``, ``rejected``) and the
assigned order's afterwards.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.merchants.stores import StoreRepository
from jivapay.adapters.db.models import IncomingOrder
from jivapay.adapters.db.platform.reference import ReferenceRepository
from jivapay.adapters.memo import Memo
from jivapay.adapters.security import decode_order_token, encrypt_secret, issue_order_token
from jivapay.domain.errors import (
    Conflict,
    DuplicateMerchantOrder,
    NotAuthenticated,
    NotFound,
    OrderNotAssigned,
    ValidationFailed,
)
from jivapay.domain.ledger import posting as L
from jivapay.domain.merchants.urls import check_merchant_url
from jivapay.domain.orders.payouts import check_recipient
from jivapay.domain.orders.status import Party, new_order_reference
from jivapay.domain.platform.audit import Actor, Target
from jivapay.services.ledger import posting
from jivapay.services.ledger.commissions import commission_rates
from jivapay.services.merchants.callback_targets import check_callback_url
from jivapay.services.merchants.stores import StoreIdentity
from jivapay.services.orders import merchant_orders
from jivapay.services.orders import records as order_records
from jivapay.services.orders.status import change_status
from jivapay.services.orders.views import store_incoming
from jivapay.services.platform.audit import log_action
from jivapay.services.platform.outbox import enqueue_after_commit
from jivapay.services.platform.reference_data import get_exchange_rate
from jivapay.settings import Settings

ORDER_TOKEN_TTL = dt.timedelta(hours=2)


@dataclasses.dataclass(frozen=True, slots=True)
class Recipient:
    """Where a pay-out goes, as the merchant sent it (``init_order`` checks it per payment method)."""

    number: str
    name: str
    bank: str | None = None


def customer_actor(incoming_id: int) -> Actor:
    """The customer acting through the order token (nobody we know by name)."""
    return Actor("customer", str(incoming_id))


def check_card_bin(raw: str | None) -> str | None:
    """The customer's card BIN (6-8 digits) that the fraud rules check: blocked BINs, card velocity."""
    if raw is None or not raw.strip():
        return None
    digits = raw.strip()
    if not (6 <= len(digits) <= 8 and digits.isdigit()):
        raise ValidationFailed(
            "client_card_bin is the first 6-8 digits of the customer's card", field="client_card_bin"
        )
    return digits


def check_client_ip(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    try:
        return str(ipaddress.ip_address(raw.strip()))
    except ValueError:
        raise ValidationFailed("client_ip must be an IPv4 or IPv6 address", field="client_ip") from None


@dataclasses.dataclass(frozen=True, slots=True)
class _Reference:
    currency: str
    minor_units: int
    payment_method_id: int
    payment_method: str
    bank_id: int | None


REFERENCE_CACHE_SECONDS = 30.0  # currencies, methods and banks change rarely; a disable shows within this
_reference_cache: Memo[tuple[str, str, str | None], _Reference] = Memo(
    "gateway.reference", maxsize=1000, ttl=REFERENCE_CACHE_SECONDS
)


async def _reference(session: AsyncSession, currency: str, payment_method: str, bank: str | None) -> _Reference:
    key = (currency.strip().upper(), payment_method.strip().lower(), bank.strip().lower() if bank else None)
    cached = _reference_cache.get(key)
    if cached is not None:
        return cached
    reference_data = ReferenceRepository(session)
    fiat = await reference_data.fiat_currency(key[0])
    if fiat is None or not fiat.is_active:
        raise ValidationFailed("unknown or disabled currency", field="currency")
    method = await reference_data.payment_method_by_code(key[1])
    if method is None or not method.is_active:
        raise ValidationFailed("unknown or disabled payment method", field="payment_method")
    found_bank = None
    if key[2]:
        found_bank = await reference_data.bank_by_code(key[2], fiat.code)
        if found_bank is None or not found_bank.is_active:
            raise ValidationFailed("unknown or disabled bank for this currency", field="bank")
    reference = _Reference(fiat.code, fiat.minor_units, method.id, method.code, found_bank.id if found_bank else None)
    _reference_cache.set(key, reference)
    return reference


async def init_order(
    session: AsyncSession,
    settings: Settings,
    store: StoreIdentity,
    *,
    direction: str,
    amount: str,
    currency: str,
    payment_method: str,
    merchant_order_id: str,
    bank: str | None = None,
    client_id: str | None = None,
    client_ip: str | None = None,
    client_card_bin: str | None = None,
    callback_url: str | None = None,
    return_url: str | None = None,
    recipient: Recipient | None = None,
    ip: str | None = None,
) -> IncomingOrder:
    """A new incoming order (pay-in or pay-out) queued for assignment."""
    merchant_order_id = merchant_order_id.strip()
    if not 1 <= len(merchant_order_id) <= 128:
        raise ValidationFailed("merchant_order_id must be 1-128 characters", field="merchant_order_id")
    ref = await _reference(session, currency, payment_method, bank)
    minor = L.parse_amount(amount, ref.minor_units)
    if minor <= 0:
        raise ValidationFailed("amount must be positive", field="amount")
    row = await StoreRepository(session).get(store.store_id)
    if row is None or not row.is_active:
        raise NotAuthenticated("This store is disabled", reason="store_inactive")
    https_only = settings.callback_urls_https_only
    # the order's own URL is checked like a saved one; the store's was checked when saved
    callback_url = await check_callback_url(settings, callback_url) or check_merchant_url(
        (row.settings or {}).get("callback_url"), https_only=https_only, field="store callback_url"
    )
    return_url = check_merchant_url(return_url, https_only=https_only, field="return_url")
    allowed_methods = (row.settings or {}).get("payment_methods")
    if allowed_methods and ref.payment_method not in allowed_methods:
        raise ValidationFailed("this store does not accept this payment method", field="payment_method")
    encrypted = last4 = None
    if direction == "payout":
        if recipient is None:
            raise ValidationFailed("a pay-out needs the recipient's requisite", field="recipient")
        checked = check_recipient(ref.payment_method, recipient.number, recipient.name, recipient.bank)
        encrypted = encrypt_secret(settings, checked.to_json())
        last4 = checked.last4
    order = await order_records.insert_incoming_unless_exists(
        session,
        public_id=new_order_reference(),
        store_id=store.store_id,
        direction=direction,
        amount=minor,
        currency=ref.currency,
        payment_method_id=ref.payment_method_id,
        bank_id=ref.bank_id,
        merchant_order_id=merchant_order_id,
        client_id=(client_id or "").strip()[:128] or None,
        client_ip=client_ip,
        client_card_bin=client_card_bin,
        callback_url=callback_url,
        return_url=return_url,
        recipient_encrypted=encrypted,
        recipient_last4=last4,
    )
    if order is None:  # merchant_order_id is unique per store
        existing = await order_records.reference_of_merchant_order(session, store.store_id, merchant_order_id)
        raise DuplicateMerchantOrder(order_id=existing)
    if direction == "payout":
        await _freeze_payout(session, order, ref.minor_units)
    # straight to the worker; the scheduler's scan is the safety net
    await enqueue_after_commit(session, "orders.assign", incoming_order_id=order.id)
    await log_action(
        session,
        store.actor,
        f"gateway.{direction}_init",
        Target.of("incoming_order", order.id),
        {"merchant_order_id": merchant_order_id, "amount": amount, "currency": ref.currency},
        ip=ip,
    )
    return order


def order_token(settings: Settings, store_id: int, incoming_id: int, *, now: float | None = None) -> str:
    """A short-lived token that lets the customer's browser confirm (and read) one order."""
    return issue_order_token(
        settings, store_id=store_id, incoming_id=incoming_id, ttl_seconds=int(ORDER_TOKEN_TTL.total_seconds()), now=now
    )


def read_order_token(settings: Settings, token: str) -> tuple[int, int]:
    """(store id, incoming order id) the token was issued for; NotAuthenticated when it is bad or expired."""
    return decode_order_token(settings, token)


def check_order_token(settings: Settings, token: str, incoming_id: int) -> int:
    """The store id the token was issued for; NotAuthenticated when it is bad, expired or for another order."""
    store_id, order_id = read_order_token(settings, token)
    if order_id != incoming_id:
        raise NotAuthenticated("Invalid order token", reason="order_token_invalid")
    return store_id


async def _freeze_payout(session: AsyncSession, order: IncomingOrder, minor_units: int) -> None:
    """The store pays for a pay-out: its USDT is frozen now (409 insufficient_balance when it
    cannot), at today's rate and the store's commission; assignment swaps this hold for the
    order's own, at the rate fixed then."""
    try:
        rate = await get_exchange_rate(order.currency, session=session)
    except NotFound:
        raise Conflict("No exchange rate for this currency: pay-outs are paused", currency=order.currency) from None
    store_rate, trader_rate = await commission_rates(
        session, direction="payout", store_id=order.store_id, trader_id=0, payment_method_id=order.payment_method_id
    )
    hold = L.payout_split(order.amount, minor_units, rate, store_rate, trader_rate).store_hold
    await posting.freeze(
        session,
        "store",
        order.store_id,
        hold,
        posting.payout_init_hold_reference(order.id),
        details={"incoming_order_id": order.id},
    )


async def assigned_order_id(session: AsyncSession, store_id: int, incoming_id: int) -> int:
    """The assigned order behind a gateway order id (409 while there is none)."""
    return _assigned(await store_incoming(session, store_id, incoming_id))


def _assigned(incoming: IncomingOrder) -> int:
    if incoming.order_id is None:
        raise OrderNotAssigned(status=incoming.status)
    return incoming.order_id


async def confirm_payin(
    session: AsyncSession, store_id: int, incoming_id: int, *, actor: Actor, ip: str | None = None
) -> None:
    """The customer's "I paid": pending_payment → client_confirmed (a repeat is a no-op)."""
    incoming = await store_incoming(session, store_id, incoming_id)
    if incoming.direction != "payin":
        raise Conflict("Only a pay-in can be confirmed by the customer", direction=incoming.direction)
    await change_status(
        session, _assigned(incoming), "client_confirmed", party=Party.CUSTOMER, actor=actor, store_id=store_id, ip=ip
    )


async def confirm_payout(
    session: AsyncSession, store: StoreIdentity, incoming_id: int, *, ip: str | None = None
) -> None:
    """The merchant's "the recipient got it" over the API key: trader_paid → completed (a repeat is a no-op)."""
    incoming = await store_incoming(session, store.store_id, incoming_id)
    await merchant_orders.complete_payout(session, incoming, actor=store.actor, merchant_id=store.merchant_id, ip=ip)
