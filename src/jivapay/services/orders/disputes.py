"""Disputes (seed 000 §3.6 support_orders): opened by the status manager, queued for support by
SLA deadline, resolved by support — complete (settles) or cancel (releases) — with a comment
and the evidence on file.

A dispute row is written in the transaction that moves the order to ``disputed``; its
priority comes from the order's USDT value (DISPUTE_HIGH_PRIORITY_USDT) and its deadline
from DISPUTE_SLA_MINUTES. While it is open the order's hold stays frozen.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import OrderDispute, OrderHistory
from jivapay.adapters.db.orders.disputes import DisputeRepository
from jivapay.adapters.db.orders.models import DISPUTE_PRIORITIES
from jivapay.adapters.db.orders.orders import OrderRepository
from jivapay.adapters.db.platform.reference import ReferenceRepository
from jivapay.domain.errors import ConfigurationError, Conflict, NotFound, ValidationFailed
from jivapay.domain.ledger import posting as L
from jivapay.domain.orders.status import Party
from jivapay.domain.platform.audit import Actor, Target
from jivapay.services.orders import receipts
from jivapay.services.orders import status as order_status
from jivapay.services.platform.audit import log_action
from jivapay.services.platform.config import get_config

OUTCOMES = ("completed", "canceled")


def check_comment(comment: str, what: str) -> str:
    """A staff decision's comment: 3-2000 characters once trimmed."""
    comment = comment.strip()
    if not 3 <= len(comment) <= 2000:
        raise ValidationFailed(f"{what} needs a comment of 3-2000 characters", field="comment")
    return comment


async def _sla_minutes(session: AsyncSession, priority: str) -> int:
    table = await get_config("DISPUTE_SLA_MINUTES", dict, session=session)
    minutes = table.get(priority)
    if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes <= 0:
        raise ConfigurationError("DISPUTE_SLA_MINUTES has no positive minutes for this priority", priority=priority)
    return minutes


async def _priority_for(session: AsyncSession, order: OrderHistory) -> str:
    minor_units = await ReferenceRepository(session).fiat_minor_units(order.currency)
    threshold = await get_config("DISPUTE_HIGH_PRIORITY_USDT", Decimal, session=session)
    return "high" if L.fiat_to_usdt(order.amount, minor_units, order.rate) >= threshold else "normal"


async def open_for(
    session: AsyncSession, order: OrderHistory, *, party: Party, actor: Actor, reason: str | None
) -> None:
    """The order has just gone to ``disputed`` (called by the status manager, same transaction)."""
    priority = await _priority_for(session, order)
    now = dt.datetime.now(dt.UTC)
    deadline = now + dt.timedelta(minutes=await _sla_minutes(session, priority))
    await DisputeRepository(session).add(
        OrderDispute(
            order_id=order.id,
            priority=priority,
            party=party.value,
            opened_by=str(actor),
            reason=reason,
            opened_at=now,
            sla_deadline=deadline,
        )
    )


async def close_for(session: AsyncSession, order_id: int, *, outcome: str, actor: Actor, comment: str | None) -> None:
    """The order has left ``disputed`` (by support, an admin or the system): the dispute is resolved."""
    await DisputeRepository(session).resolve_open(order_id, resolution=outcome, resolved_by=str(actor), comment=comment)


@dataclasses.dataclass(frozen=True, slots=True)
class QueuedDispute:
    dispute: OrderDispute
    order: OrderHistory
    overdue: bool


async def queue(
    session: AsyncSession,
    *,
    priority: str | None = None,
    overdue_only: bool = False,
    starting_after: int | None = None,
    limit: int = 50,
) -> list[QueuedDispute]:
    """Open disputes, the nearest SLA deadline first (ties by order id); ``starting_after`` is the
    order id of the last row of the previous page."""
    if priority is not None and priority not in DISPUTE_PRIORITIES:
        raise ValidationFailed("priority is high, normal or low", field="priority")
    now = dt.datetime.now(dt.UTC)
    repository = DisputeRepository(session)
    last = None
    if starting_after is not None:
        last = await repository.get(starting_after)
        if last is None:
            raise ValidationFailed("starting_after is not a dispute", field="starting_after")
    rows = await repository.open_queue(
        priority=priority, overdue_at=now if overdue_only else None, after=last, limit=limit
    )
    return [QueuedDispute(d, o, d.sla_deadline < now) for d, o in rows]


async def dispute_of(session: AsyncSession, order_id: int) -> OrderDispute | None:
    """The order's dispute, open or resolved; None when it never had one."""
    return await DisputeRepository(session).get(order_id)


async def get(session: AsyncSession, order_id: int, *, for_update: bool = False) -> OrderDispute:
    dispute = await DisputeRepository(session).get(order_id, for_update=for_update)
    if dispute is None:
        raise NotFound("This order has no dispute")  # the caller named the order
    return dispute


async def set_priority(
    session: AsyncSession, order_id: int, priority: str, *, actor: Actor, ip: str | None = None
) -> OrderDispute:
    """Re-prioritise an open dispute: the deadline is counted again from when it was opened."""
    if priority not in DISPUTE_PRIORITIES:
        raise ValidationFailed("priority is high, normal or low", field="priority")
    dispute = await get(session, order_id, for_update=True)
    if dispute.resolved_at is not None:
        raise Conflict("The dispute is already resolved", resolution=dispute.resolution)
    if dispute.priority != priority:
        before = dispute.priority
        dispute.priority = priority
        dispute.sla_deadline = dispute.opened_at + dt.timedelta(minutes=await _sla_minutes(session, priority))
        await log_action(
            session,
            actor,
            "dispute.priority",
            Target.of("order", order_id),
            {"from": before, "to": priority, "sla_deadline": dispute.sla_deadline.isoformat()},
            ip=ip,
        )
    return dispute


async def resolve(
    session: AsyncSession,
    order_id: int,
    *,
    outcome: str,
    comment: str,
    party: Party,
    actor: Actor,
    ip: str | None = None,
    require_evidence: bool = True,
) -> tuple[OrderHistory, OrderDispute]:
    """Complete (the order settles) or cancel (the hold goes back) a disputed order.

    The comment is mandatory; completing needs at least one receipt on file (uploaded by the
    customer, the merchant, the trader or support) unless an admin overrides
    (``require_evidence=False``). The receipts on file are recorded as the dispute's evidence.
    """
    if outcome not in OUTCOMES:
        raise ValidationFailed("outcome is completed or canceled", field="outcome")
    comment = check_comment(comment, "a resolution")
    # the status manager's lock order: the order, then its dispute
    await OrderRepository(session).get(order_id, for_update=True)
    dispute = await get(session, order_id, for_update=True)
    if dispute.resolved_at is not None:
        raise Conflict("The dispute is already resolved", resolution=dispute.resolution)
    evidence = await receipts.receipt_ids(session, order_id)
    if outcome == "completed" and not evidence and require_evidence:
        raise ValidationFailed(
            "completing a disputed order needs evidence: upload a receipt or statement first", field="evidence"
        )
    order = await order_status.change_status(
        session, order_id, outcome, party=party, actor=actor, reason=comment, ip=ip
    )
    dispute.evidence = evidence
    await log_action(
        session,
        actor,
        "dispute.resolve",
        Target.of("order", order_id),
        {"outcome": outcome, "comment": comment, "evidence": evidence},
        ip=ip,
    )
    return order, dispute


def summary(dispute: OrderDispute, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or dt.datetime.now(dt.UTC)
    return {
        "priority": dispute.priority,
        "party": dispute.party,
        "reason": dispute.reason,
        "opened_at": dispute.opened_at,
        "sla_deadline": dispute.sla_deadline,
        "overdue": dispute.resolved_at is None and dispute.sla_deadline < now,
        "resolved_at": dispute.resolved_at,
        "resolution": dispute.resolution,
        "resolved_by": dispute.resolved_by,
        "resolution_comment": dispute.resolution_comment,
        "evidence": list(dispute.evidence or []),
    }
