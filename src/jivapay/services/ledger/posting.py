"""The ledger's one way in: every balance change is a posting made here.

``post`` is the posting function. Holds, settlements, deposits, withdrawals and manual
adjustments are built on it. All of them run in the caller's transaction and never
commit; a raised error leaves the transaction to be rolled back (nothing is half-posted).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.ledger.postings import LedgerRepository
from jivapay.adapters.db.models import Hold
from jivapay.adapters.db.platform.reference import ReferenceRepository
from jivapay.adapters.db.uow import atomic
from jivapay.adapters.notifications import report_critical_error
from jivapay.domain.errors import (
    RETRYABLE_ERRORS,
    Conflict,
    InsufficientBalance,
    JivaPayError,
    NotFound,
    ValidationFailed,
)
from jivapay.domain.ledger import posting as L
from jivapay.domain.platform.audit import Actor, Target
from jivapay.services.ledger.owners import check_owner
from jivapay.services.orders import records as order_records
from jivapay.services.platform.audit import log_action
from jivapay.services.platform.outbox import enqueue_after_commit

log = logging.getLogger("jivapay.ledger")


@dataclasses.dataclass(frozen=True, slots=True)
class NewHold:
    """A hold the posting creates (a freeze): written with the transaction, before any lock."""

    reference: str
    available: L.AccountKey
    frozen: L.AccountKey
    amount: int


@dataclasses.dataclass(frozen=True, slots=True)
class Posting:
    transaction_id: int
    replayed: bool  # the idempotency key had been posted before with the same legs


def _usdt(units: int) -> str:
    """An amount in an error's details: a decimal string, like everywhere in the API."""
    return L.format_amount(units, L.USDT_DECIMALS)


def _fingerprint(amounts: dict[int, int]) -> str:
    return hashlib.sha256(";".join(f"{k}={v}" for k, v in sorted(amounts.items())).encode()).hexdigest()


async def post(
    session: AsyncSession,
    *,
    idempotency_key: str,
    kind: str,
    legs: Sequence[L.Leg] = (),
    account_legs: dict[int, int] | None = None,
    order_id: int | None = None,
    details: dict[str, Any] | None = None,
    before_lock: Callable[[int], Awaitable[None]] | None = None,
    hold: NewHold | None = None,
) -> Posting:
    """Post one balanced transaction, or replay it.

    Accounts are locked FOR UPDATE in id order; the legs must sum to zero per currency;
    no non-external balance may go below zero (InsufficientBalance, backed by a CHECK).
    The same key with the same legs returns the original; with other legs it is a
    Conflict and nothing is written. ``before_lock(transaction_id)`` runs before the account
    locks are taken: bookkeeping that needs the id (holds, settlements) goes there, so hot
    accounts such as the platform's profit stay locked for two statements only.
    """
    if not idempotency_key or len(idempotency_key) > 128:
        raise ValidationFailed("an idempotency key of 1-128 characters is required")
    repo = LedgerRepository(session)
    ids = await repo.account_ids(leg.account for leg in legs)
    amounts: dict[int, int] = defaultdict(int)
    for leg in legs:
        if not isinstance(leg.amount, int) or isinstance(leg.amount, bool):
            raise ValidationFailed("ledger amounts are integers in minor units", amount=repr(leg.amount))
        amounts[ids[leg.account]] += leg.amount
    for account_id, amount in (account_legs or {}).items():
        amounts[account_id] += amount
    amounts = {account_id: amount for account_id, amount in amounts.items() if amount != 0}
    if len(amounts) < 2:
        raise ValidationFailed("a ledger transaction moves money between at least two accounts")
    fingerprint = _fingerprint(amounts)

    hold_row = (
        {
            "reference": hold.reference,
            "available_account_id": ids[hold.available],
            "frozen_account_id": ids[hold.frozen],
            "amount": hold.amount,
        }
        if hold is not None
        else None
    )
    transaction_id = await repo.insert_transaction(
        idempotency_key, kind, order_id, fingerprint, details or {}, hold=hold_row
    )
    if transaction_id is None:
        existing = await repo.transaction_by_key(idempotency_key)
        assert existing is not None
        if existing.legs_hash != fingerprint:
            raise Conflict(
                "This idempotency key was used for a different ledger transaction", idempotency_key=idempotency_key
            )
        return Posting(existing.id, replayed=True)

    if before_lock is not None:
        await before_lock(transaction_id)
    locked = await repo.lock_accounts(amounts)
    totals: dict[str, int] = defaultdict(int)
    for account_id, amount in amounts.items():
        totals[locked[account_id].currency] += amount
    unbalanced = {currency: total for currency, total in totals.items() if total}
    if unbalanced:
        raise ValidationFailed("a ledger transaction must sum to zero per currency", currencies=sorted(unbalanced))
    for account_id, amount in amounts.items():
        account = locked[account_id]
        if account.kind != "external" and account.balance + amount < 0:
            raise InsufficientBalance(
                account_id=account_id,
                kind=account.kind,
                currency=account.currency,
                balance=account.balance,
                needed=-amount,
            )
    # balances and entries in one statement: the locks above are held for as little as possible
    await repo.apply_and_record(transaction_id, amounts)
    return Posting(transaction_id, replayed=False)


# --- holds ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class HoldResult:
    reference: str
    amount: int
    transaction_id: int
    replayed: bool


async def freeze(
    session: AsyncSession,
    owner_type: str,
    owner_id: int,
    amount: int,
    reference: str,
    *,
    order_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> HoldResult:
    """available → frozen, and a hold for ``reference`` (one per reference)."""
    if amount <= 0:
        raise ValidationFailed("a hold amount must be positive", amount=_usdt(amount))
    available, frozen = L.owner_accounts(owner_type, owner_id)
    posting = await post(
        session,
        idempotency_key=f"freeze:{reference}",
        kind="freeze",
        order_id=order_id,
        details=details,
        legs=[L.Leg(available, -amount), L.Leg(frozen, amount)],
        hold=NewHold(reference, available, frozen, amount),
    )
    return HoldResult(reference, amount, posting.transaction_id, replayed=posting.replayed)


async def _resolve(
    session: AsyncSession,
    reference: str,
    status: str,
    key: str,
    kind: str,
    destinations: Sequence[L.Leg],
    extra_legs: Sequence[L.Leg],
    order_id: int | None,
    details: dict[str, Any] | None,
    *,
    locked: Hold | None = None,
    before_lock: Callable[[int], Awaitable[None]] | None = None,
) -> Posting:
    repo = LedgerRepository(session)
    hold = locked or await repo.lock_hold(reference)
    if hold is None:
        raise NotFound("No hold for this reference", reference=reference)
    if hold.status != "active":  # resolved before: a replay of ours, or a conflict
        if hold.status == status and hold.resolve_transaction_id is not None:
            earlier = await repo.transaction_by_key(key)
            if earlier is not None and earlier.id == hold.resolve_transaction_id:
                return Posting(earlier.id, replayed=True)
        raise Conflict("The hold is already resolved", reference=reference, status=hold.status)
    captured = sum(leg.amount for leg in destinations)
    if any(leg.amount <= 0 for leg in destinations) or captured > hold.amount:
        raise ValidationFailed(
            "a capture moves positive amounts totalling at most the held amount",
            held=_usdt(hold.amount),
            captured=_usdt(captured),
        )
    account_legs = {hold.frozen_account_id: -hold.amount}
    if hold.amount - captured:
        account_legs[hold.available_account_id] = hold.amount - captured
    hold_id = hold.id

    async def bookkeeping(transaction_id: int) -> None:
        # the hold row is ours (locked above): mark it before any account lock is taken
        if not await repo.finish_hold(hold_id, status, transaction_id):
            raise Conflict("The hold was resolved concurrently", reference=reference)
        if before_lock is not None:
            await before_lock(transaction_id)

    return await post(
        session,
        idempotency_key=key,
        kind=kind,
        legs=[*destinations, *extra_legs],
        account_legs=account_legs,
        order_id=order_id,
        details=details,
        before_lock=bookkeeping,
    )


async def capture(
    session: AsyncSession,
    reference: str,
    destinations: Sequence[L.Leg],
    *,
    extra_legs: Sequence[L.Leg] = (),
    key: str | None = None,
    kind: str = "capture",
    order_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> Posting:
    """Move held funds to ``destinations``; what they do not take returns to available.

    Exactly one of concurrent capture/release calls wins; the others get a Conflict.
    """
    return await _resolve(
        session, reference, "captured", key or f"capture:{reference}", kind, destinations, extra_legs, order_id, details
    )


async def release(
    session: AsyncSession, reference: str, *, key: str | None = None, order_id: int | None = None
) -> Posting:
    """frozen → available for the whole hold."""
    return await _resolve(
        session, reference, "released", key or f"release:{reference}", "release", (), (), order_id, None
    )


def payout_init_hold_reference(incoming_order_id: int) -> str:
    """The store's USDT frozen when a pay-out is created, until a trader takes it (or it fails)."""
    return f"payout-init:{incoming_order_id}"


async def find_hold(session: AsyncSession, reference: str) -> Hold | None:
    """The hold under ``reference``, whatever its status (no lock)."""
    return await LedgerRepository(session).hold_by_reference(reference)


async def release_if_active(session: AsyncSession, reference: str) -> bool:
    """Release a hold that may not exist or may be resolved already; True when released now."""
    hold = await LedgerRepository(session).lock_hold(reference)
    if hold is None or hold.status != "active":
        return False
    await _resolve(session, reference, "released", f"release:{reference}", "release", (), (), None, None, locked=hold)
    return True


async def move_hold(
    session: AsyncSession,
    reference: str,
    new_reference: str,
    *,
    owner_type: str,
    owner_id: int,
    order_id: int | None = None,
) -> HoldResult:
    """What ``reference`` holds stays frozen, now under ``new_reference`` (a declined pay-out's
    store funds while it waits for another trader). One transaction: the funds are never
    available in between."""
    hold = await LedgerRepository(session).lock_hold(reference)
    if hold is None or hold.status != "active":
        raise Conflict("There is no active hold to move", reference=reference)
    amount = hold.amount
    await _resolve(
        session, reference, "released", f"release:{reference}", "release", (), (), order_id, None, locked=hold
    )
    return await freeze(session, owner_type, owner_id, amount, new_reference, order_id=order_id)


def payout_waiting_hold_reference(incoming_order_id: int, declined_order_id: int) -> str:
    """The store's USDT for a pay-out that ``declined_order_id``'s trader declined, until another
    trader takes it (or it fails)."""
    return f"payout-init:{incoming_order_id}:after:{declined_order_id}"


# --- settlement ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Settlement:
    order_id: int
    transaction_id: int
    platform_profit: int
    replayed: bool


def order_hold_reference(order_id: int) -> str:
    return f"order:{order_id}"


@dataclasses.dataclass(frozen=True, slots=True)
class TeamleadReward:
    teamlead_id: int
    share: Decimal
    amount: int  # floor(platform profit × share), USDT units

    @property
    def account(self) -> L.AccountKey:
        return L.teamlead_available(self.teamlead_id)


def _teamlead_reward(teamlead_id: int | None, share: Decimal | None, profit: int) -> TeamleadReward | None:
    """The teamlead's cut of the platform's profit on an order, at the share fixed when it was assigned."""
    if profit <= 0 or teamlead_id is None or share is None:
        return None
    amount = int((profit * share).to_integral_value(rounding=ROUND_FLOOR))
    # share < 1 (a CHECK), so the platform always keeps a positive part of a positive profit
    return TeamleadReward(teamlead_id, share, amount) if amount > 0 else None


async def settle_completed_order(session: AsyncSession, order_id: int) -> Settlement:
    """Post a completed order's money movements (DESIGN "Money and the ledger"); once per order."""
    repo = LedgerRepository(session)
    order = await order_records.lock_order(session, order_id)
    if order is None:
        raise NotFound("Order not found", order_id=order_id)
    done = await repo.settlement(order_id)  # settled before (or while we waited for the lock)
    if done is not None:
        return Settlement(order_id, done.transaction_id, done.platform_profit, replayed=True)
    if order.status != "completed":
        raise Conflict("Only completed orders are settled", order_id=order.public_id, status=order.status)
    minor_units = await ReferenceRepository(session).fiat_minor_units(order.currency)
    reference = order_hold_reference(order_id)
    fiat_legs = [
        L.Leg(L.external_fiat(order.currency), -order.amount),
        L.Leg(L.trader_fiat(order.trader_id, order.currency, order.direction), order.amount),
    ]
    if order.direction == "payin":
        payin = L.payin_split(order.amount, minor_units, order.rate, order.store_commission, order.trader_commission)
        payer, payer_id, hold_amount = "trader", order.trader_id, payin.trader_hold
        receiver, credit = L.store_available(order.store_id), payin.store_credit
    else:
        payout = L.payout_split(order.amount, minor_units, order.rate, order.store_commission, order.trader_commission)
        payer, payer_id, hold_amount = "store", order.store_id, payout.store_hold
        receiver, credit = L.trader_available(order.trader_id), payout.trader_credit
    hold = await repo.lock_hold(reference)
    # never take the payer's money now: a completed order without its active hold is a bug for a person
    if hold is None:
        raise Conflict("The completed order has no hold to settle from", order_id=order_id, payer=payer)
    if hold.status != "active":
        raise Conflict(
            "The completed order's hold was resolved without a settlement", order_id=order_id, hold_status=hold.status
        )
    if hold.amount != hold_amount:
        log.warning(
            "hold differs from the order's terms",
            extra={"order_id": order_id, "held": hold.amount, "expected": hold_amount, "payer_id": payer_id},
        )
    if hold.amount < credit:
        raise Conflict(
            "The order's hold is smaller than what it must pay",
            order_id=order_id,
            held=_usdt(hold.amount),
            credit=_usdt(credit),
        )
    gross_profit = hold.amount - credit
    reward = _teamlead_reward(order.teamlead_id, order.teamlead_share, gross_profit)
    profit = gross_profit - (reward.amount if reward else 0)  # what the platform keeps
    destinations = [L.Leg(receiver, credit)]
    if profit:
        destinations.append(L.Leg(L.platform_profit(), profit))
    details: dict[str, Any] = {
        "rate": str(order.rate),
        "store_commission": str(order.store_commission),
        "trader_commission": str(order.trader_commission),
    }
    if reward is not None:
        destinations.append(L.Leg(reward.account, reward.amount))
        details["teamlead_reward"] = {
            "teamlead_id": reward.teamlead_id,
            "share": str(reward.share),
            "platform_profit_before": gross_profit,
            "amount": reward.amount,
        }
    direction = order.direction

    async def record_settlement(transaction_id: int) -> None:
        await repo.insert_settlement(order_id, direction, transaction_id, profit)
        order.settled_at = dt.datetime.now(dt.UTC)

    posting = await _resolve(
        session,
        reference,
        "captured",
        f"settle:{order_id}",
        f"settle_{direction}",
        destinations,
        fiat_legs,
        order_id,
        details,
        locked=hold,
        before_lock=record_settlement,
    )
    log.info("order settled", extra={"order_id": order_id, "direction": order.direction, "profit": profit})
    return Settlement(order_id, posting.transaction_id, profit, replayed=posting.replayed)


SETTLEMENT = Actor.system("settlement")


async def settle_or_flag(session_factory: async_sessionmaker[AsyncSession], order_id: int) -> Settlement | None:
    """Settle a completed order; when that cannot work (no active hold: a bug, never a reason to
    take the payer's money now) say so loudly — Sentry, audit, an alert to support — and record it
    on the order, where support's search finds it and the reconciliation stops retrying it.
    Errors worth retrying (database, cache) are raised for the caller's retry."""
    try:
        async with atomic(session_factory, name="ledger.settle") as session:
            return await settle_completed_order(session, order_id)
    except RETRYABLE_ERRORS:
        raise
    except JivaPayError as exc:
        report_critical_error(exc, "a completed order could not be settled", order_id=order_id, code=exc.code)
        reason = f"{exc.code}: {exc.message}"
        async with atomic(session_factory, name="ledger.settle.failure") as session:
            if await order_records.flag_settlement_error(session, order_id, reason[:1000]):
                await log_action(
                    session,
                    SETTLEMENT,
                    "ledger.settle_failed",
                    Target.of("order", order_id),
                    {"reason": reason, "details": exc.details},
                )
                await enqueue_after_commit(
                    session, "notifications.order_alert", order_id=order_id, kind="settlement_failed"
                )
        log.error("order not settled", extra={"order_id": order_id, "reason": reason})
        return None


async def retry_settlement(
    session: AsyncSession, order_id: int, *, reason: str, actor: Actor, ip: str | None = None
) -> None:
    """An operator fixed what stopped a settlement: clear the flag and queue it again (audited)."""
    if not reason.strip():
        raise ValidationFailed("a reason is required to settle an order again", field="reason")
    order = await order_records.lock_order(session, order_id)
    if order is None:
        raise NotFound("Order not found", order_id=order_id)
    if order.status != "completed" or order.settled_at is not None:
        raise Conflict(
            "Only a completed order that is not settled can be settled again",
            order_id=order.public_id,
            current_status=order.status,
            settled=order.settled_at is not None,
        )
    previous, order.settlement_error = order.settlement_error, None
    await log_action(
        session,
        actor,
        "ledger.settle_retry",
        Target.of("order", order_id),
        {"reason": reason.strip(), "previous_error": previous},
        ip=ip,
    )
    await enqueue_after_commit(session, "ledger.settle", order_id=order_id)


# --- deposits, withdrawals, adjustments ------------------------------------------------------


async def credit_deposit(
    session: AsyncSession, owner_type: str, owner_id: int, network: str, amount: int, tx_ref: str
) -> Posting:
    """USDT arrived on chain for an owner: idempotent by (network, chain reference)."""
    if amount <= 0:
        raise ValidationFailed("a deposit must be positive", amount=_usdt(amount))
    available, _ = L.owner_accounts(owner_type, owner_id)
    return await post(
        session,
        idempotency_key=f"deposit:{network}:{tx_ref}",
        kind="deposit",
        legs=[L.Leg(L.external_crypto(network), -amount), L.Leg(available, amount)],
        details={"network": network, "tx_ref": tx_ref},
    )


async def reverse_deposit(
    session: AsyncSession, owner_type: str, owner_id: int, network: str, amount: int, tx_ref: str
) -> Posting:
    """A credited deposit left the chain (a reorg deeper than the confirmations): take it back.
    InsufficientBalance when the owner no longer has it available (the caller escalates)."""
    if amount <= 0:
        raise ValidationFailed("a deposit reversal must be positive", amount=_usdt(amount))
    available, _ = L.owner_accounts(owner_type, owner_id)
    return await post(
        session,
        idempotency_key=f"deposit-reversal:{network}:{tx_ref}",
        kind="deposit_reversal",
        legs=[L.Leg(available, -amount), L.Leg(L.external_crypto(network), amount)],
        details={"network": network, "tx_ref": tx_ref, "reason": "reorg"},
    )


def _withdrawal_reference(withdrawal_id: str) -> str:
    return f"withdrawal:{withdrawal_id}"


async def hold_withdrawal(
    session: AsyncSession, owner_type: str, owner_id: int, amount: int, withdrawal_id: str, network: str
) -> HoldResult:
    return await freeze(
        session, owner_type, owner_id, amount, _withdrawal_reference(withdrawal_id), details={"network": network}
    )


async def finalize_withdrawal(
    session: AsyncSession, withdrawal_id: str, network: str, tx_ref: str, fee: int = 0
) -> Posting:
    """The chain transaction went out: the held USDT leaves to the network's external account, but
    for ``fee``, which is the platform's profit."""
    reference = _withdrawal_reference(withdrawal_id)
    hold = await LedgerRepository(session).hold_by_reference(reference)
    if hold is None:
        raise NotFound("No held withdrawal", withdrawal_id=withdrawal_id)
    if not 0 <= fee < hold.amount:
        raise ValidationFailed("a withdrawal fee must be less than what is held", fee=_usdt(fee))
    destinations = [L.Leg(L.external_crypto(network), hold.amount - fee)]
    if fee:
        destinations.append(L.Leg(L.platform_profit(), fee))
    return await capture(
        session,
        reference,
        destinations,
        key=f"withdrawal:{withdrawal_id}:finalize",
        kind="withdrawal",
        details={"network": network, "tx_ref": tx_ref, "fee": fee},
    )


async def cancel_withdrawal(session: AsyncSession, withdrawal_id: str) -> Posting:
    return await release(session, _withdrawal_reference(withdrawal_id), key=f"withdrawal:{withdrawal_id}:cancel")


async def adjust(
    session: AsyncSession,
    actor: Actor,
    *,
    owner_type: str,
    owner_id: int,
    amount: int,
    reason: str,
    idempotency_key: str,
    ip: str | None = None,
) -> Posting:
    """An admin's manual correction of an owner's available USDT, against the adjustment account."""
    if not reason.strip():
        raise ValidationFailed("a reason is required for a manual adjustment", field="reason")
    if amount == 0:
        raise ValidationFailed("an adjustment must not be zero", field="amount")
    available, _ = L.owner_accounts(owner_type, owner_id)
    await check_owner(session, owner_type, owner_id)
    posting = await post(
        session,
        idempotency_key=f"adjust:{idempotency_key}",
        kind="adjustment",
        legs=[L.Leg(L.adjustment(), -amount), L.Leg(available, amount)],
        details={"reason": reason.strip(), "actor": str(actor)},
    )
    if not posting.replayed:
        await log_action(
            session,
            actor,
            "ledger.adjust",
            Target.of(owner_type, owner_id),
            {"amount": amount, "reason": reason.strip(), "transaction_id": posting.transaction_id},
            ip=ip,
        )
    return posting
