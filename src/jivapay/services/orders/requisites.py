"""Traders' requisites (seed 000 §3.6 requisites.py): managed by their owner and by admins."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import Requisite
from jivapay.adapters.db.orders.requisites import RequisiteRepository
from jivapay.adapters.db.platform.reference import ReferenceRepository
from jivapay.adapters.security import decrypt_secret, encrypt_secret, requisite_fingerprint
from jivapay.domain.errors import Conflict, NotFound, ValidationFailed
from jivapay.domain.orders.requisites import (
    RequisiteDirection,
    RequisiteType,
    check_limits,
    check_owner_name,
    normalize_number,
)
from jivapay.domain.pii import mask_name
from jivapay.domain.platform.audit import Actor, Target
from jivapay.services.identity import directory
from jivapay.services.platform.audit import log_action
from jivapay.settings import Settings

LIMIT_FIELDS = ("min_amount", "max_amount", "daily_limit", "monthly_limit", "orders_per_day", "max_open_orders")


@dataclasses.dataclass(frozen=True, slots=True)
class RequisiteView:
    """What the API shows; ``number`` is the full number only for the owner's own detail view."""

    requisite: Requisite
    number: str
    owner_name: str


def view(requisite: Requisite, settings: Settings, *, full: bool) -> RequisiteView:
    if full:
        return RequisiteView(requisite, decrypt_secret(settings, requisite.number_encrypted), requisite.owner_name)
    masked = (
        f"{requisite.number_bin} **** **** {requisite.number_last4}"
        if requisite.number_bin
        else (f"**** {requisite.number_last4}")
    )
    return RequisiteView(requisite, masked, mask_name(requisite.owner_name))


async def _check_references(session: AsyncSession, bank_id: int, payment_method_id: int, currency: str) -> None:
    refs = ReferenceRepository(session)
    bank = await refs.bank(bank_id)
    if bank is None or not bank.is_active:
        raise ValidationFailed("bank_id is not an active bank", field="bank_id")
    if bank.currency_code != currency:
        raise ValidationFailed(f"the bank works in {bank.currency_code}, not {currency}", field="currency")
    method = await refs.payment_method(payment_method_id)
    if method is None or not method.is_active:
        raise ValidationFailed("payment_method_id is not an active payment method", field="payment_method_id")


async def create_requisite(
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    *,
    trader_id: int,
    type_: RequisiteType,
    bank_id: int,
    payment_method_id: int,
    currency: str,
    owner_name: str,
    number: str,
    direction: RequisiteDirection,
    limits: dict[str, int | None],
    ip: str | None = None,
) -> Requisite:
    trader = await directory.find_user(session, trader_id)
    if trader is None or trader.role != "trader":
        raise NotFound("Trader not found", trader_id=trader_id)
    profile = await directory.trader_profile(session, trader_id)
    currency = currency.upper()
    await _check_references(session, bank_id, payment_method_id, currency)
    canonical = normalize_number(type_, number)
    owner = check_owner_name(owner_name)
    check_limits(*(limits.get(name) for name in LIMIT_FIELDS))
    fingerprint = requisite_fingerprint(settings, canonical)
    repo = RequisiteRepository(session)
    if await repo.fingerprint_taken(fingerprint):
        raise Conflict("This requisite is already registered", field="number")
    requisite = await repo.add(
        Requisite(
            trader_id=trader_id,
            type=type_.value,
            bank_id=bank_id,
            payment_method_id=payment_method_id,
            currency=currency,
            owner_name=owner,
            number_encrypted=encrypt_secret(settings, canonical),
            number_last4=canonical[-4:],
            number_bin=canonical[:6] if type_ == RequisiteType.CARD else None,
            number_fingerprint=fingerprint,
            direction=direction.value,
            priority=profile.traffic_priority if profile is not None else 100,
            **{name: limits.get(name) for name in LIMIT_FIELDS},
        )
    )
    await log_action(
        session,
        actor,
        "requisite.create",
        Target.of("requisite", requisite.id),
        {"trader_id": trader_id, "type": type_.value, "number": canonical, "owner_name": owner},
        ip=ip,
    )
    return requisite


async def reveal_requisite(
    session: AsyncSession, actor: Actor, requisite_id: int, *, reason: str, ip: str | None = None
) -> Requisite:
    """Staff's explicit look at a requisite's full number and owner name: who, when and why are audited."""
    reason = reason.strip()
    if not 3 <= len(reason) <= 500:
        raise ValidationFailed("reason must say why the full details are needed (3-500 characters)", field="reason")
    requisite = await get_requisite(session, requisite_id, trader_id=None)
    await log_action(
        session,
        actor,
        "requisite.reveal",
        Target.of("requisite", requisite.id),
        {"trader_id": requisite.trader_id, "reason": reason},
        ip=ip,
    )
    return requisite


async def get_requisite(session: AsyncSession, requisite_id: int, *, trader_id: int | None) -> Requisite:
    requisite = await RequisiteRepository(session).get(requisite_id, trader_id=trader_id)
    if requisite is None:
        raise NotFound("Requisite not found", requisite_id=requisite_id)
    return requisite


async def list_requisites(
    session: AsyncSession, *, trader_id: int | None, filters: dict[str, Any], starting_after: int | None, limit: int
) -> Sequence[Requisite]:
    return await RequisiteRepository(session).list(
        trader_id=trader_id, filters=filters, starting_after=starting_after, limit=limit
    )


async def update_requisite(
    session: AsyncSession,
    actor: Actor,
    requisite_id: int,
    *,
    trader_id: int | None,
    changes: dict[str, Any],
    ip: str | None = None,
) -> Requisite:
    """Active flag, direction and limits; the number, bank and currency of a requisite never change."""
    repo = RequisiteRepository(session)
    requisite = await repo.get(requisite_id, trader_id=trader_id, for_update=True)
    if requisite is None:
        raise NotFound("Requisite not found", requisite_id=requisite_id)
    merged = {name: changes.get(name, getattr(requisite, name)) for name in LIMIT_FIELDS}
    check_limits(*(merged[name] for name in LIMIT_FIELDS))
    for name, value in changes.items():
        setattr(requisite, name, value.value if isinstance(value, RequisiteDirection) else value)
    await session.flush()
    await log_action(
        session,
        actor,
        "requisite.update",
        Target.of("requisite", requisite.id),
        {k: (v.value if isinstance(v, RequisiteDirection) else v) for k, v in changes.items()},
        ip=ip,
    )
    return requisite


async def archive_requisite(
    session: AsyncSession, actor: Actor, requisite_id: int, *, trader_id: int | None, ip: str | None = None
) -> None:
    """Requisites are never deleted (orders point at them): archived, they leave every list."""
    requisite = await RequisiteRepository(session).get(requisite_id, trader_id=trader_id, for_update=True)
    if requisite is None:
        raise NotFound("Requisite not found", requisite_id=requisite_id)
    requisite.is_active = False
    requisite.archived_at = dt.datetime.now(dt.UTC)
    await log_action(session, actor, "requisite.archive", Target.of("requisite", requisite.id), ip=ip)


async def sync_trader_priority(session: AsyncSession, trader_id: int, priority: int) -> None:
    """Requisites carry their trader's traffic priority (selection orders by it through one index)."""
    await RequisiteRepository(session).sync_priority(trader_id, priority)


async def scrub_trader_requisites(session: AsyncSession, settings: Settings, trader_id: int) -> int:
    """For anonymization: owner names and numbers go; last 4 digits stay for order history."""
    return await RequisiteRepository(session).scrub_for_trader(trader_id, encrypt_secret(settings, "anonymized"))
