"""Disputes and the fraud manual-review queue as support works them (`/support/disputes/*`,
`/support/reviews/*`). Every action is audited."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, cast

import msgspec
from litestar import Request
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED

from jivapay.adapters.db.models import IncomingOrder
from jivapay.adapters.resources import get_resources
from jivapay.adapters.storage import storage_for
from jivapay.domain.ledger import posting as L
from jivapay.domain.orders.status import Party
from jivapay.http.deps import MultipartForm, client_ip, current_principal, form_file, transaction
from jivapay.http.enums import (
    DecimalText,
    Direction,
    DisputeOutcomeChoice,
    DisputePriorityChoice,
    IncomingStatus,
)
from jivapay.http.orders.staff_orders import (
    DisputeSummary,
    OrderCaseBody,
    StaffOrderBody,
    StaffReceiptBody,
    case_body,
    dispute_body,
    order_body,
    receipt_body,
    staff_order,
)
from jivapay.http.routes import RouteGroup
from jivapay.services.ledger.balances import fiat_decimals
from jivapay.services.orders import disputes, receipts
from jivapay.services.orders import refs as order_refs
from jivapay.services.staff import support
from jivapay.settings import get_settings

support_routes = RouteGroup("support")


class QueuedDisputeBody(msgspec.Struct):
    dispute: DisputeSummary
    order: StaffOrderBody


class DisputePage(msgspec.Struct):
    data: list[QueuedDisputeBody]
    has_more: bool


class PriorityBody(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"priority": "high"}

    priority: DisputePriorityChoice


class Resolution(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {
        "outcome": "completed",
        "comment": "The bank statement shows the transfer to the trader's card.",
    }

    outcome: DisputeOutcomeChoice
    comment: str


class ReviewBody(msgspec.Struct):
    id: str  # the order's public reference (ord_…)
    store_id: int
    merchant_order_id: str
    direction: Direction
    amount: DecimalText
    currency: str
    client_id: str | None
    client_ip: str | None
    reasons: str | None
    created_at: dt.datetime


class ReviewPage(msgspec.Struct):
    data: list[ReviewBody]
    has_more: bool


class ReviewDecision(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"comment": "Regular customer; the card BIN matches their bank."}

    comment: str


class ReviewOutcome(msgspec.Struct):
    id: str
    status: IncomingStatus  # new (approved: back to processing) | rejected
    fraud_cleared_by: str | None


def _review_body(incoming: IncomingOrder, decimals: int) -> ReviewBody:
    return ReviewBody(
        id=incoming.public_id,
        store_id=incoming.store_id,
        merchant_order_id=incoming.merchant_order_id,
        direction=cast(Direction, incoming.direction),
        amount=L.format_amount(incoming.amount, decimals),
        currency=incoming.currency,
        client_id=incoming.client_id,
        client_ip=str(incoming.client_ip) if incoming.client_ip else None,
        reasons=incoming.failure_reason,
        created_at=incoming.created_at,
    )


@support_routes.get(
    "/disputes",
    operation_id="support_dispute_queue",
    description="Open disputes, nearest SLA deadline first; `overdue` marks the ones past it. Filter by "
    "priority or `overdue_only`; pass the last row's order id (`ord_…`) as `starting_after` for the next page.",
)
async def dispute_queue(
    priority: DisputePriorityChoice | None = None,
    overdue_only: bool = False,
    starting_after: str | None = Parameter(default=None, max_length=32),
    limit: int = Parameter(default=50, ge=1, le=200),
) -> DisputePage:
    async with transaction("support.disputes") as session:
        cursor = await order_refs.staff_order_id(session, starting_after) if starting_after else None
        rows = await disputes.queue(
            session, priority=priority, overdue_only=overdue_only, starting_after=cursor, limit=limit + 1
        )
        found = await support.found_orders(session, [r.order.id for r in rows[:limit]])
        data = [
            QueuedDisputeBody(
                dispute_body(r.order.public_id, r.dispute),
                order_body(
                    r.order,
                    found[r.order.id].incoming,
                    found[r.order.id].requisite_last4,
                    await fiat_decimals(session, r.order.currency),
                ),
            )
            for r in rows[:limit]
        ]
    return DisputePage(data, len(rows) > limit)


@support_routes.patch(
    "/disputes/{order_id:str}",
    operation_id="support_set_dispute_priority",
    description="Change an open dispute's priority (high, normal, low); its SLA deadline is counted again from "
    "when it was opened, with DISPUTE_SLA_MINUTES.",
)
async def set_priority(request: Request[Any, Any, Any], order_id: str, data: PriorityBody) -> DisputeSummary:
    async with transaction("support.dispute_priority") as session:
        internal_id = await order_refs.staff_order_id(session, order_id)
        dispute = await disputes.set_priority(
            session, internal_id, data.priority, actor=current_principal(request).actor, ip=client_ip(request)
        )
        return dispute_body(order_id, dispute)


@support_routes.post(
    "/disputes/{order_id:str}/resolve",
    operation_id="support_resolve_dispute",
    status_code=200,
    description="`completed`: the order completes and settles (needs at least one receipt or statement on "
    "file — upload it with `/support/orders/{order_id}/evidence`). `canceled`: the hold goes back to its "
    "owner. The comment is mandatory; the receipts on file are recorded as the evidence.",
)
async def resolve_dispute(request: Request[Any, Any, Any], order_id: str, data: Resolution) -> OrderCaseBody:
    async with transaction("support.resolve") as session:
        internal_id = await order_refs.staff_order_id(session, order_id)
        await disputes.resolve(
            session,
            internal_id,
            outcome=data.outcome,
            comment=data.comment,
            party=Party.SUPPORT,
            actor=current_principal(request).actor,
            ip=client_ip(request),
        )
    return await case_body(internal_id)


@support_routes.post(
    "/orders/{order_id:str}/evidence",
    operation_id="support_upload_evidence",
    status_code=HTTP_201_CREATED,
    description="Attach evidence to an order (a bank statement, a receipt the customer e-mailed): PDF, PNG or "
    "JPEG in the multipart field `data`, up to RECEIPT_MAX_BYTES. A file already seen on another order is "
    "flagged to fraud.",
)
async def upload_evidence(
    request: Request[Any, Any, Any],
    order_id: str,
    data: MultipartForm,
) -> StaffReceiptBody:
    upload = form_file(data, "data")
    receipt = await receipts.upload_receipt(
        get_resources().session_factory,
        storage_for(get_settings()),
        order_id=await staff_order(order_id),
        party=Party.SUPPORT,
        actor=current_principal(request).actor,
        data=await upload.read(),
        content_type=upload.content_type,
        ip=client_ip(request),
    )
    return await receipt_body(receipt)


@support_routes.get(
    "/reviews",
    operation_id="support_review_queue",
    description="Incoming orders the fraud rules held for a person (status `review`), oldest first, with the "
    "rules that fired.",
)
async def review_queue(
    starting_after: str | None = Parameter(default=None, max_length=32, description="the last row's id (ord_…)"),
    limit: int = Parameter(default=50, ge=1, le=200),
) -> ReviewPage:
    async with transaction("support.reviews") as session:
        cursor = await order_refs.staff_incoming_id(session, starting_after) if starting_after else None
        rows = await support.review_queue(session, starting_after=cursor, limit=limit + 1)
        data = [_review_body(i, await fiat_decimals(session, i.currency)) for i in rows[:limit]]
    return ReviewPage(data, len(rows) > limit)


@support_routes.post(
    "/reviews/{order_id:str}/approve",
    operation_id="support_approve_review",
    status_code=200,
    description="Clear the order: it goes back to processing at once and the fraud rules are not asked again.",
)
async def approve_review(request: Request[Any, Any, Any], order_id: str, data: ReviewDecision) -> ReviewOutcome:
    return await _decide_review(request, order_id, data, support.approve_review)


@support_routes.post(
    "/reviews/{order_id:str}/reject",
    operation_id="support_reject_review",
    status_code=200,
    description="Refuse the order: it ends `rejected` (the merchant's callback says so) and a pay-out's frozen "
    "funds go back to the store.",
)
async def reject_review(request: Request[Any, Any, Any], order_id: str, data: ReviewDecision) -> ReviewOutcome:
    return await _decide_review(request, order_id, data, support.reject_review)


async def _decide_review(
    request: Request[Any, Any, Any], order_id: str, data: ReviewDecision, decide: Any
) -> ReviewOutcome:
    async with transaction("support.review") as session:
        incoming = await decide(
            session,
            await order_refs.staff_incoming_id(session, order_id),
            data.comment,
            actor=current_principal(request).actor,
            ip=client_ip(request),
        )
        return ReviewOutcome(incoming.public_id, cast(IncomingStatus, incoming.status), incoming.fraud_cleared_by)


support_handlers = [
    dispute_queue,
    set_priority,
    resolve_dispute,
    upload_evidence,
    review_queue,
    approve_review,
    reject_review,
]
