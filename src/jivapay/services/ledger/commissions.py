"""Commissions of stores and traders (seed 000 §3.3 balance_manager.calculate_commissions)."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.ledger.commissions import CommissionRepository
from jivapay.adapters.db.platform.reference import ReferenceRepository
from jivapay.domain import money
from jivapay.domain.errors import ConfigurationError, ValidationFailed
from jivapay.domain.ledger import posting as L
from jivapay.domain.orders.status import DIRECTIONS
from jivapay.domain.platform.audit import Actor, Target
from jivapay.services.ledger.owners import Owner
from jivapay.services.platform.audit import log_action
from jivapay.services.platform.config import get_config


@dataclasses.dataclass(frozen=True, slots=True)
class Commissions:
    store_rate: Decimal
    trader_rate: Decimal
    # exact amounts in micro-USDT for the order (see domain.ledger for the rounding)
    hold: int  # what is frozen: the trader's collateral (pay-in) or the store's USDT (pay-out)
    credit: int  # what the store (pay-in) or the trader (pay-out) receives
    platform_profit: int


def _check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise ValidationFailed("direction must be payin or payout", field="direction")


def _default_key(owner: Owner, direction: str) -> str:
    """The configuration setting holding the rate of an owner without one of its own."""
    return f"DEFAULT_{owner.upper()}_COMMISSION_{direction.upper()}"


async def _rate(found: Decimal | None, default_key: str, session: AsyncSession | None = None) -> Decimal:
    if found is not None:
        return found
    try:
        return await get_config(default_key, Decimal, session=session)
    except ConfigurationError:
        raise ConfigurationError(f"no commission is set and {default_key} has no value", key=default_key) from None


async def commission_rates(
    session: AsyncSession,
    *,
    direction: str,
    store_id: int,
    trader_id: int,
    payment_method_id: int | None = None,
    found: tuple[Decimal | None, Decimal | None] | None = None,
) -> tuple[Decimal, Decimal]:
    """(store rate, trader rate): per payment method, else per owner, else the configured default.

    ``found``: the (store, trader) rates already read with other data (None where unset);
    without it they are read here.
    """
    _check_direction(direction)
    if found is None:
        found = await CommissionRepository(session).rates(store_id, trader_id, direction, payment_method_id)
    store_rate, trader_rate = found
    store = await _rate(store_rate, _default_key("store", direction), session)
    trader = await _rate(trader_rate, _default_key("trader", direction), session)
    return store, trader


async def calculate_commissions(
    session: AsyncSession,
    *,
    direction: str,
    amount: int,
    currency: str,
    rate: Decimal,
    store_id: int,
    trader_id: int,
    payment_method_id: int | None = None,
    found: tuple[Decimal | None, Decimal | None] | None = None,
) -> Commissions:
    """Rates and exact amounts for an order of ``amount`` (fiat minor units) at ``rate``
    (``found``: see ``commission_rates``)."""
    store_rate, trader_rate = await commission_rates(
        session,
        direction=direction,
        store_id=store_id,
        trader_id=trader_id,
        payment_method_id=payment_method_id,
        found=found,
    )
    minor_units = await ReferenceRepository(session).fiat_minor_units(currency)
    if direction == "payin":
        payin = L.payin_split(amount, minor_units, rate, store_rate, trader_rate)
        return Commissions(store_rate, trader_rate, payin.trader_hold, payin.store_credit, payin.platform_profit)
    payout = L.payout_split(amount, minor_units, rate, store_rate, trader_rate)
    return Commissions(store_rate, trader_rate, payout.store_hold, payout.trader_credit, payout.platform_profit)


CommissionOwner = Owner


async def set_commission(
    session: AsyncSession,
    actor: Actor,
    *,
    owner: CommissionOwner,
    owner_id: int,
    direction: str,
    rate: Decimal | str,
    payment_method_id: int | None = None,
    ip: str | None = None,
) -> None:
    """Set the rate a store pays (``owner="store"``) or a trader earns (``owner="trader"``) for
    a direction, optionally for one payment method; audited. ``rate`` is a fraction (a decimal
    string from the API) held to the commission rule of ``domain.money``."""
    _check_direction(direction)
    rate = money.COMMISSION.check(rate, field="rate")
    if payment_method_id is not None and await ReferenceRepository(session).payment_method(payment_method_id) is None:
        raise ValidationFailed("unknown payment method", field="payment_method_id")
    await CommissionRepository(session).set_rate(owner, owner_id, direction, payment_method_id, rate)
    await log_action(
        session,
        actor,
        f"commission.{owner}.set",
        Target.of("store" if owner == "store" else "user", owner_id),
        {"direction": direction, "payment_method_id": payment_method_id, "rate": str(rate)},
        ip=ip,
    )


async def commission_table(
    session: AsyncSession, owner: CommissionOwner, owner_id: int
) -> list[tuple[str, int | None, Decimal, bool]]:
    """What the store pays (``owner="store"``) or the trader earns (``owner="trader"``):
    (direction, payment method id or None for all, rate, is it the default)."""
    table = [(d, pm, rate, False) for d, pm, rate in await CommissionRepository(session).owner_rates(owner, owner_id)]
    for direction in DIRECTIONS:
        if not any(d == direction and pm is None for d, pm, _, _ in table):
            default = await _rate(None, _default_key(owner, direction), session)
            table.append((direction, None, default, True))
    return sorted(table, key=lambda row: (row[0], row[1] or 0))
