"""Order routes that support and admins share: search, the whole case of one order, notes and
status moves. Built per role (operation ids, party and guards differ); the moves each party
may make are the transition table's (``domain.orders``), always with a written reason.

Requisite numbers and owner names are never shown here: the last four digits identify one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, ClassVar, cast

import msgspec
from litestar import Request, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED
from litestar.types import Guard

from jivapay.adapters.db.models import IncomingOrder, OrderHistory, OrderNote, Receipt
from jivapay.adapters.storage import storage_for
from jivapay.domain import money
from jivapay.domain.errors import NotFound, ValidationFailed
from jivapay.domain.ledger import posting as L
from jivapay.domain.orders.status import ORDER_STATUSES, OrderSearch, Party, is_order_reference
from jivapay.http.deps import client_ip, current_principal, transaction
from jivapay.http.enums import DecimalText, Direction, DirectionChoice, IncomingStatus, OrderStatus, OrderStatusChoice
from jivapay.services.ledger.balances import fiat_decimals
from jivapay.services.orders import disputes
from jivapay.services.orders import refs as order_refs
from jivapay.services.orders import status as order_status
from jivapay.services.platform.config import get_config
from jivapay.services.staff import support
from jivapay.settings import get_settings


class StaffOrderBody(msgspec.Struct):
    id: str  # the order's public reference (ord_…), the one the merchant and the trader see
    merchant_order_id: str | None
    store_id: int
    trader_id: int
    direction: Direction
    status: OrderStatus
    amount: DecimalText
    requested_amount: DecimalText | None
    currency: str
    rate: DecimalText
    store_commission: DecimalText
    trader_commission: DecimalText
    payment_method_id: int | None
    requisite_id: int | None
    requisite_last4: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    expires_at: dt.datetime | None
    completed_at: dt.datetime | None
    settled_at: dt.datetime | None = None
    settlement_error: str | None = None  # why the ledger could not settle it (an operator's emergency)


class StaffOrderPage(msgspec.Struct):
    data: list[StaffOrderBody]
    has_more: bool


class HistoryBody(msgspec.Struct):
    from_status: OrderStatus | None
    to_status: OrderStatus
    party: str
    actor: str
    reason: str | None
    at: dt.datetime


class StaffReceiptBody(msgspec.Struct):
    id: int
    party: str
    uploaded_by: str
    content_type: str
    size: int
    sha256: str
    created_at: dt.datetime
    url: str  # short-lived download link (RECEIPT_URL_TTL_SECONDS)


class NoteBody(msgspec.Struct):
    id: int
    author: str
    body: str
    created_at: dt.datetime


class DisputeSummary(msgspec.Struct):
    order_id: str  # the order's public reference
    priority: str
    party: str
    reason: str | None
    opened_at: dt.datetime
    sla_deadline: dt.datetime
    overdue: bool
    resolved_at: dt.datetime | None
    resolution: str | None
    resolved_by: str | None
    resolution_comment: str | None
    evidence: list[int]


class OrderCaseBody(msgspec.Struct):
    order: StaffOrderBody
    history: list[HistoryBody]
    receipts: list[StaffReceiptBody]
    notes: list[NoteBody]
    dispute: DisputeSummary | None
    incoming_status: IncomingStatus | None
    fraud_cleared_by: str | None


class NewNote(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {
        "body": "Called the trader: the bank delays incoming transfers today; rechecking at 16:00."
    }

    body: str


class StatusMove(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {
        "status": "canceled",
        "reason": "The customer asked to cancel before paying (ticket 4521)",
    }

    status: OrderStatusChoice  # the move is then the transition table's to allow
    reason: str


def order_body(order: OrderHistory, incoming: IncomingOrder | None, last4: str | None, decimals: int) -> StaffOrderBody:
    return StaffOrderBody(
        id=order.public_id,
        merchant_order_id=incoming.merchant_order_id if incoming else None,
        store_id=order.store_id,
        trader_id=order.trader_id,
        direction=cast(Direction, order.direction),
        status=cast(OrderStatus, order.status),
        amount=L.format_amount(order.amount, decimals),
        requested_amount=L.format_amount(order.requested_amount, decimals) if order.requested_amount else None,
        currency=order.currency,
        rate=str(order.rate),
        store_commission=str(order.store_commission),
        trader_commission=str(order.trader_commission),
        payment_method_id=order.payment_method_id,
        requisite_id=order.requisite_id,
        requisite_last4=last4,
        created_at=order.created_at,
        updated_at=order.updated_at,
        expires_at=order.expires_at,
        completed_at=order.completed_at,
        settled_at=order.settled_at,
        settlement_error=order.settlement_error,
    )


def dispute_body(reference: str, dispute: Any) -> DisputeSummary:
    return DisputeSummary(order_id=reference, **disputes.summary(dispute))


def note_body(note: OrderNote) -> NoteBody:
    return NoteBody(note.id, note.author, note.body, note.created_at)


async def receipt_body(receipt: Receipt) -> StaffReceiptBody:
    ttl = await get_config("RECEIPT_URL_TTL_SECONDS", int)
    url = await storage_for(get_settings()).download_url(receipt.object_key, ttl)
    return StaffReceiptBody(
        receipt.id,
        receipt.party,
        receipt.uploaded_by,
        receipt.content_type,
        receipt.size,
        receipt.sha256,
        receipt.created_at,
        url,
    )


async def staff_order(reference: str) -> int:
    """The order staff mean by a public reference: the live one, else the newest declined (404 if none)."""
    async with transaction("staff.order_ref") as session:
        return await order_refs.staff_order_id(session, reference)


async def case_body(order_id: int) -> OrderCaseBody:
    async with transaction("staff.order") as session:
        case = await support.order_case(session, order_id)
        found = case.found
        body = order_body(
            found.order, found.incoming, found.requisite_last4, await fiat_decimals(session, found.order.currency)
        )
    return OrderCaseBody(
        order=body,
        history=[
            HistoryBody(
                cast(OrderStatus | None, c.from_status),
                cast(OrderStatus, c.to_status),
                c.party,
                c.actor,
                c.reason,
                c.created_at,
            )
            for c in case.history
        ],
        receipts=[await receipt_body(r) for r in case.receipts],
        notes=[note_body(n) for n in case.notes],
        dispute=dispute_body(found.order.public_id, case.dispute) if case.dispute else None,
        incoming_status=cast(IncomingStatus, found.incoming.status) if found.incoming else None,
        fraud_cleared_by=found.incoming.fraud_cleared_by if found.incoming else None,
    )


def order_handlers(role: str, party: Party, *, guards: Sequence[Guard] = ()) -> list[Any]:
    """search, case, notes and status moves for ``/{role}/orders`` (``guards`` on each)."""
    guards = list(guards)

    @get(
        "/orders",
        operation_id=f"{role}_search_orders",
        tags=[role],
        guards=guards,
        description="Search orders by id (the `ord_…` reference), merchant_order_id, store, trader, exact amount "
        "(a decimal string with its currency), the requisite's last four digits, status, direction and "
        "creation time; `settlement_failed=true` lists completed orders whose settlement could not be posted. "
        "Newest first; pass the last order's id as `starting_after` for the next page.",
    )
    async def search_orders(
        order_id: str | None = Parameter(default=None, max_length=32, description="an ord_… reference"),
        merchant_order_id: str | None = Parameter(default=None, max_length=128),
        store_id: int | None = Parameter(default=None, ge=1, le=2**31 - 1),
        trader_id: int | None = Parameter(default=None, ge=1, le=2**31 - 1),
        amount: money.DecimalText | None = Parameter(default=None, max_length=32),
        currency: str | None = Parameter(default=None, max_length=8),
        requisite_last4: str | None = Parameter(default=None, max_length=4),
        status: OrderStatusChoice | None = None,
        direction: DirectionChoice | None = None,
        created_from: dt.datetime | None = None,
        created_to: dt.datetime | None = None,
        settlement_failed: bool | None = None,
        starting_after: str | None = Parameter(default=None, max_length=32, description="the last order's id"),
        limit: int = Parameter(default=50, ge=1, le=200),
    ) -> StaffOrderPage:
        if order_id is not None and not is_order_reference(order_id):
            raise ValidationFailed("order_id is an order reference (ord_…)", field="order_id")
        async with transaction("staff.search") as session:
            cursor = await order_refs.staff_order_id(session, starting_after) if starting_after else None
            minor = None
            if amount is not None:
                if currency is None:
                    raise ValidationFailed("an amount needs its currency", field="currency")
                try:
                    decimals = await fiat_decimals(session, currency.upper())
                except NotFound:
                    raise ValidationFailed("unknown currency", field="currency") from None
                minor = L.parse_amount(amount, decimals)
            f = OrderSearch(
                public_id=order_id,
                merchant_order_id=merchant_order_id,
                store_id=store_id,
                trader_id=trader_id,
                amount=minor,
                currency=currency.upper() if currency else None,
                requisite_last4=requisite_last4,
                status=status,
                direction=direction,
                created_from=created_from,
                created_to=created_to,
                settlement_failed=settlement_failed,
            )
            found = await support.search_orders(session, f, starting_after=cursor, limit=limit + 1)
            data = [
                order_body(x.order, x.incoming, x.requisite_last4, await fiat_decimals(session, x.order.currency))
                for x in found[:limit]
            ]
        return StaffOrderPage(data, len(found) > limit)

    @get(
        "/orders/{order_id:str}",
        operation_id=f"{role}_get_order",
        tags=[role],
        guards=guards,
        description="The whole case: the order, its status history (who, when, why), receipts with short-lived "
        "download links, staff notes, the dispute and the fraud review outcome.",
    )
    async def get_order(order_id: str) -> OrderCaseBody:
        return await case_body(await staff_order(order_id))

    @post(
        "/orders/{order_id:str}/notes",
        operation_id=f"{role}_add_order_note",
        tags=[role],
        guards=guards,
        status_code=HTTP_201_CREATED,
        description="A note for staff only; audited.",
    )
    async def add_note(request: Request[Any, Any, Any], order_id: str, data: NewNote) -> NoteBody:
        async with transaction("staff.note") as session:
            note = await support.add_note(
                session,
                await order_refs.staff_order_id(session, order_id),
                data.body,
                actor=current_principal(request).actor,
                ip=client_ip(request),
            )
            return note_body(note)

    @post(
        "/orders/{order_id:str}/status",
        operation_id=f"{role}_move_order",
        tags=[role],
        guards=guards,
        status_code=200,
        description=f"Move an order as {party.value} (the moves the transition table gives {party.value}), with a "
        "mandatory reason. The money follows the status manager: completing settles, canceling or declining "
        "releases the hold; balances are never edited. An illegal move is 409, one not allowed to "
        f"{party.value} is 403.",
    )
    async def move_order(request: Request[Any, Any, Any], order_id: str, data: StatusMove) -> OrderCaseBody:
        if data.status not in ORDER_STATUSES:
            raise ValidationFailed("unknown order status", field="status", allowed=sorted(ORDER_STATUSES))
        actor, ip = current_principal(request).actor, client_ip(request)
        async with transaction("staff.move") as session:
            internal_id = await order_refs.staff_order_id(session, order_id)
            current = await support.current_status(session, internal_id)
            if current == "disputed" and data.status in disputes.OUTCOMES:
                # a dispute ends the one way, whichever route: comment, evidence snapshot, audit
                await disputes.resolve(
                    session,
                    internal_id,
                    outcome=data.status,
                    comment=data.reason,
                    party=party,
                    actor=actor,
                    ip=ip,
                    require_evidence=party != Party.ADMIN,
                )
            else:
                await order_status.change_status(
                    session, internal_id, data.status, party=party, actor=actor, reason=data.reason, ip=ip
                )
        return await case_body(internal_id)

    return [search_orders, get_order, add_note, move_order]
