"""The order processor (seed 000 §3.3 order_processor): an incoming order becomes an assigned one.

One transaction does everything — lock the incoming order, check fraud, select a requisite,
freeze the collateral, create the order, count the requisite's usage. When it fails, a
second transaction records the attempt (retry_count, last_attempt_at, failure_reason) and
the status: ``retrying`` with exponential backoff, or ``failed`` after MAX_ORDER_RETRIES.
It is idempotent: an order that is no longer new/retrying is left alone.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import IncomingOrder
from jivapay.adapters.db.orders.orders import OrderRepository
from jivapay.adapters.db.orders.selection import Candidate, Recheck, SelectionRepository
from jivapay.adapters.db.platform.reference import ReferenceRepository
from jivapay.adapters.db.uow import atomic
from jivapay.adapters.notifications import report_critical_error
from jivapay.domain.errors import (
    RETRYABLE_ERRORS,
    ConfigurationError,
    InsufficientBalance,
    JivaPayError,
    NotFound,
    RequisiteNotFound,
)
from jivapay.domain.ledger import posting as L
from jivapay.domain.orders.fraud import Decision
from jivapay.domain.platform.audit import Actor, Target
from jivapay.services.ledger import posting
from jivapay.services.ledger.commissions import calculate_commissions
from jivapay.services.merchants import callbacks
from jivapay.services.orders.fraud import assess_incoming_order
from jivapay.services.platform.audit import AuditEntry, audit_columns, log_action, log_actions
from jivapay.services.platform.config import get_config
from jivapay.services.platform.outbox import enqueue_after_commit
from jivapay.services.platform.reference_data import get_exchange_rate

log = logging.getLogger("jivapay.orders")
PROCESSOR = Actor.system("order-processor")
MAX_AMOUNT_SHIFTS = 5


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    incoming_order_id: int
    status: str  # assigned | review | rejected | retrying | failed | unchanged
    order_id: int | None = None
    reason: str | None = None
    reference: str | None = None  # the order's public reference (ord_…), once assigned


def _initial_status(direction: str) -> str:
    return "pending_payment" if direction == "payin" else "pending"


async def _select(
    session: AsyncSession, incoming: IncomingOrder, collateral: int, today: dt.date, declined_by: list[int]
) -> tuple[Candidate, int, Recheck]:
    """A requisite, the exact amount to show (shifted by the smallest unit when allowed), and
    what was read with the requisite under its lock (the commission rates)."""
    selection = SelectionRepository(session)
    payin = incoming.direction == "payin"
    shifts = [0]
    if payin and await get_config("ALLOW_AMOUNT_SHIFT", bool, session=session):
        shifts += [step for n in range(1, MAX_AMOUNT_SHIFTS + 1) for step in (n, -n)]
    for shift in shifts:
        amount = incoming.amount + shift
        if amount <= 0:
            continue
        excluded: list[int] = []
        while True:
            candidate = await selection.find(
                direction=incoming.direction,
                currency=incoming.currency,
                payment_method_id=incoming.payment_method_id,
                bank_id=incoming.bank_id,
                amount=amount,
                collateral=collateral,
                today=today,
                exclude=excluded,
                exclude_traders=declined_by,
            )
            if candidate is None:
                break
            recheck = await selection.recheck(
                candidate.requisite_id,
                direction=incoming.direction,
                amount=amount,
                today=today,
                store_id=incoming.store_id,
                payment_method_id=incoming.payment_method_id,
            )
            if recheck.fits:
                return candidate, amount, recheck
            log.debug(
                "requisite rejected after lock: counters moved",
                extra={"incoming_order_id": incoming.id, "requisite_id": candidate.requisite_id},
            )
            excluded.append(candidate.requisite_id)
    raise RequisiteNotFound(incoming_order_id=incoming.id)


def store_hold_reference(incoming: IncomingOrder) -> str:
    """The hold on the store's USDT while a pay-out waits for a trader (taken at init, or moved
    there from a declined order's hold)."""
    return incoming.store_hold_reference or posting.payout_init_hold_reference(incoming.id)


async def reject_incoming(session: AsyncSession, incoming: IncomingOrder, reason: str) -> None:
    """An incoming order ends ``rejected`` (the fraud rules or a person said no): a pay-out's funds
    frozen for it go back to the store, and the merchant's callback says so."""
    incoming.status = "rejected"
    incoming.failure_reason = reason[:256]
    if incoming.direction == "payout":
        await posting.release_if_active(session, store_hold_reference(incoming))
    if incoming.callback_url:
        await callbacks.record_event(session, incoming.id)


async def _assign(session: AsyncSession, incoming_id: int, attempt: int | None) -> Outcome:
    orders = OrderRepository(session)
    incoming = await orders.incoming(incoming_id, for_update=True)
    if incoming is None or incoming.status not in ("new", "retrying"):
        return Outcome(incoming_id, "unchanged")
    if attempt is not None and incoming.retry_count != attempt:
        # a duplicate or late message for an attempt already made: the scheduler sends the next
        # one when its backoff is over, so this one must not spend a retry early
        return Outcome(incoming_id, "unchanged")
    verdict, fraud_entry = await assess_incoming_order(session, incoming)
    if verdict.decision == Decision.DENY:
        await log_actions(session, [fraud_entry])
        await reject_incoming(session, incoming, "fraud: " + ", ".join(verdict.reasons))
        return Outcome(incoming_id, "rejected", reason=incoming.failure_reason)
    if verdict.decision == Decision.REQUIRE_MANUAL_REVIEW:
        await log_actions(session, [fraud_entry])
        incoming.status = "review"
        incoming.failure_reason = "fraud review: " + ", ".join(verdict.reasons)
        await enqueue_after_commit(session, "notifications.review_alert", incoming_order_id=incoming.id)
        return Outcome(incoming_id, "review", reason=incoming.failure_reason)

    try:
        rate = await get_exchange_rate(incoming.currency, session=session)
    except NotFound:
        raise ConfigurationError("no exchange rate for this currency", currency=incoming.currency) from None
    minor_units = await ReferenceRepository(session).fiat_minor_units(incoming.currency)
    # the most a pay-in can freeze (trader commission 0): candidates must have at least that
    collateral = (
        L.to_usdt_units(L.fiat_to_usdt(incoming.amount + MAX_AMOUNT_SHIFTS, minor_units, rate), up=True)
        if incoming.direction == "payin"
        else 0
    )
    today = dt.datetime.now(dt.UTC).date()
    declined_by = await orders.traders_who_declined(incoming.id) if incoming.direction == "payout" else []
    candidate, amount, recheck = await _select(session, incoming, collateral, today, declined_by)
    commissions = await calculate_commissions(
        session,
        direction=incoming.direction,
        amount=amount,
        currency=incoming.currency,
        rate=rate,
        store_id=incoming.store_id,
        trader_id=candidate.trader_id,
        payment_method_id=incoming.payment_method_id,
        found=(recheck.store_rate, recheck.trader_rate),
    )
    timeout_key = "PAYIN_PAYMENT_TIMEOUT_MINUTES" if incoming.direction == "payin" else "PAYOUT_TIMEOUT_MINUTES"
    order_id = await orders.insert_order(
        public_id=incoming.public_id,  # one reference for the order whoever looks at it
        store_id=incoming.store_id,
        trader_id=candidate.trader_id,
        direction=incoming.direction,
        status=_initial_status(incoming.direction),
        currency=incoming.currency,
        amount=amount,
        requested_amount=incoming.amount,
        rate=rate,
        store_commission=commissions.store_rate,
        trader_commission=commissions.trader_rate,
        payment_method_id=incoming.payment_method_id,
        incoming_order_id=incoming.id,
        requisite_id=candidate.requisite_id,
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=await get_config(timeout_key, int, session=session)),
        teamlead_id=recheck.teamlead_id,
        teamlead_share=recheck.teamlead_share,
    )
    if incoming.direction == "payout":  # the store's funds frozen while it waited become the order's hold
        await posting.release_if_active(session, store_hold_reference(incoming))
    payer = ("trader", candidate.trader_id) if incoming.direction == "payin" else ("store", incoming.store_id)
    await posting.freeze(
        session, payer[0], payer[1], commissions.hold, posting.order_hold_reference(order_id), order_id=order_id
    )
    await SelectionRepository(session).book(
        candidate.requisite_id,
        amount=amount,
        day=today,
        order_id=order_id,
        payin=incoming.direction == "payin",
        incoming_order_id=incoming.id,
        audit=audit_columns(
            [
                fraud_entry,
                AuditEntry(
                    PROCESSOR,
                    "order.assign",
                    Target.of("order", order_id),
                    {
                        "incoming_order_id": incoming.id,
                        "requisite_id": candidate.requisite_id,
                        "trader_id": candidate.trader_id,
                        "amount": amount,
                        "rate": str(rate),
                    },
                ),
            ]
        ),
    )
    if incoming.callback_url:  # no cost on the hot path for orders without a callback
        await callbacks.record_event(session, incoming.id)
    return Outcome(incoming_id, "assigned", order_id=order_id, reference=incoming.public_id)


async def _record_failure(
    session_factory: async_sessionmaker[AsyncSession], incoming_id: int, exc: JivaPayError
) -> Outcome:
    """The second transaction: the attempt and what comes next."""
    async with atomic(session_factory, name="orders.assign.failure") as session:
        orders = OrderRepository(session)
        incoming = await orders.incoming(incoming_id, for_update=True)
        if incoming is None or incoming.status not in ("new", "retrying"):
            return Outcome(incoming_id, "unchanged")
        max_retries = await get_config("MAX_ORDER_RETRIES", int, session=session)
        factor = await get_config("RETRY_BACKOFF_FACTOR", Decimal, session=session)
        base = await get_config("RETRY_BASE_DELAY_SECONDS", int, session=session)
        attempts = incoming.retry_count + 1
        status = "failed" if attempts >= max_retries else "retrying"
        delay = dt.timedelta(seconds=float(Decimal(base) * factor ** (attempts - 1)))
        reason = f"{exc.code}: {exc.message}"
        await orders.record_failure(
            incoming_id, status=status, reason=reason, next_attempt_at=dt.datetime.now(dt.UTC) + delay
        )
        await log_action(
            session,
            PROCESSOR,
            f"order.assign_{status}",
            Target.of("incoming_order", incoming_id),
            {"attempt": attempts, "reason": reason},
        )
        if status == "failed" and incoming.direction == "payout":
            await posting.release_if_active(session, store_hold_reference(incoming))
        if status == "failed" and incoming.callback_url:
            await callbacks.record_event(session, incoming_id)
    if status == "failed" or not isinstance(exc, RequisiteNotFound | InsufficientBalance):
        log.warning(
            "incoming order not assigned", extra={"incoming_order_id": incoming_id, "status": status, "reason": reason}
        )
    return Outcome(incoming_id, status, reason=reason)


async def process_incoming_order(
    session_factory: async_sessionmaker[AsyncSession], incoming_id: int, attempt: int | None = None
) -> Outcome:
    """Assign an incoming order. ``attempt`` is the retry count a message was sent for (0 for a new
    order; None: whatever attempt is due), so a duplicate message after a failed attempt is ignored
    instead of spending a retry before its backoff is over."""
    try:
        async with atomic(session_factory, name="orders.assign") as session:
            return await _assign(session, incoming_id, attempt)
    except RETRYABLE_ERRORS:
        raise  # the actor retries these with backoff; the order stays new/retrying
    except JivaPayError as exc:
        if isinstance(exc, ConfigurationError):
            report_critical_error(exc, "order processing misconfigured", incoming_order_id=incoming_id)
        return await _record_failure(session_factory, incoming_id, exc)
