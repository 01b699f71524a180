"""The merchant's orders: list with filters and totals, detail with history and callbacks,
disputes, and a streamed CSV export."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any, ClassVar, cast

import msgspec
from litestar import Request
from litestar.params import Parameter
from litestar.response import Stream

from jivapay.adapters.db.models import CallbackEvent, IncomingOrder, OrderHistory
from jivapay.adapters.db.orders.merchant_orders import MerchantOrderRow
from jivapay.adapters.resources import get_resources
from jivapay.adapters.storage import storage_for
from jivapay.domain import money
from jivapay.domain.errors import NotFound, ValidationFailed
from jivapay.domain.ledger import posting as L
from jivapay.domain.orders.status import Party
from jivapay.domain.periods import check_period
from jivapay.http.csv_export import csv_attachment
from jivapay.http.deps import MultipartForm, client_ip, current_principal, form_file, read_only, transaction
from jivapay.http.enums import (
    CallbackStatus,
    CurrencyFilter,
    DecimalText,
    Direction,
    DirectionChoice,
    OrderStatus,
    PublicOrderStatus,
    PublicOrderStatusChoice,
)
from jivapay.http.routes import RouteGroup
from jivapay.services.ledger.balances import fiat_decimals
from jivapay.services.merchants import callbacks
from jivapay.services.orders import merchant_orders, receipts
from jivapay.services.orders import records as order_records
from jivapay.services.orders import refs as order_refs
from jivapay.services.orders import views as order_views
from jivapay.services.orders.merchant_orders import OrderFilter
from jivapay.settings import get_settings

merchant_routes = RouteGroup("merchant")

CSV_BATCH = 1000
MAX_EXPORT_DAYS = 366


class MerchantOrderBody(msgspec.Struct):
    id: str  # the order's public reference (ord_…)
    store_id: int
    merchant_order_id: str
    direction: Direction
    status: PublicOrderStatus
    amount: DecimalText
    pay_amount: DecimalText | None
    currency: str
    rate: DecimalText | None
    created_at: dt.datetime
    completed_at: dt.datetime | None
    expires_at: dt.datetime | None
    failure_reason: str | None


class TotalBody(msgspec.Struct):
    currency: str
    orders: int
    amount: DecimalText
    completed_orders: int
    completed_amount: DecimalText


class MerchantOrderPage(msgspec.Struct):
    data: list[MerchantOrderBody]
    has_more: bool
    totals: list[TotalBody]


class StatusChangeBody(msgspec.Struct):
    from_status: OrderStatus | None
    to_status: OrderStatus
    party: str
    reason: str | None
    at: dt.datetime


class CallbackSummary(msgspec.Struct):
    event_id: str
    type: str
    status: CallbackStatus
    attempts: int
    last_status_code: int | None


class MerchantOrderDetail(msgspec.Struct):
    order: MerchantOrderBody
    history: list[StatusChangeBody]
    callbacks: list[CallbackSummary]


class OpenDispute(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {
        "comment": "The customer sent a bank statement: 1500.00 RUB left their card at 14:02 on 25 November."
    }

    comment: str


def _body(incoming: IncomingOrder, order: OrderHistory | None, decimals: int) -> MerchantOrderBody:
    return _line_body(
        MerchantOrderRow(
            incoming.id,
            incoming.public_id,
            incoming.store_id,
            incoming.merchant_order_id,
            incoming.direction,
            incoming.status,
            incoming.amount,
            incoming.currency,
            incoming.created_at,
            incoming.failure_reason,
            order.status if order else None,
            order.amount if order else None,
            order.rate if order else None,
            order.completed_at if order else None,
            order.expires_at if order else None,
        ),
        decimals,
    )


def _line_body(row: MerchantOrderRow, decimals: int) -> MerchantOrderBody:
    assigned = row.order_status is not None
    return MerchantOrderBody(
        id=row.public_id,
        store_id=row.store_id,
        merchant_order_id=row.merchant_order_id,
        direction=cast(Direction, row.direction),
        status=cast(PublicOrderStatus, order_views.shown_status(row.status, row.order_status)),
        amount=L.format_amount(row.amount, decimals),
        pay_amount=L.format_amount(int(row.order_amount or 0), decimals) if assigned else None,
        currency=row.currency,
        rate=str(row.rate) if assigned else None,
        created_at=row.created_at,
        completed_at=row.completed_at,
        expires_at=row.expires_at,
        failure_reason=row.failure_reason if row.status in ("failed", "rejected") else None,
    )


def _filter(
    store_id: int | None,
    direction: str | None,
    status: str | None,
    created_from: dt.datetime | None,
    created_to: dt.datetime | None,
    merchant_order_id: str | None,
    amount_min: str | None,
    amount_max: str | None,
    currency: str | None,
) -> OrderFilter:
    created_from, created_to = check_period(created_from, created_to)
    return OrderFilter(
        store_id, direction, status, created_from, created_to, merchant_order_id, amount_min, amount_max, currency
    )


@merchant_routes.get(
    "/orders",
    operation_id="merchant_list_orders",
    description="Newest first. Pass the last order's id (its `ord_…` reference) as `starting_after` for the next "
    "page. `totals` cover "
    "every order that matches the filters, not just the page.",
)
async def list_orders(
    request: Request[Any, Any, Any],
    store_id: int | None = None,
    direction: DirectionChoice | None = None,
    status: PublicOrderStatusChoice | None = None,
    created_from: dt.datetime | None = None,
    created_to: dt.datetime | None = None,
    merchant_order_id: str | None = None,
    amount_min: money.DecimalText | None = None,
    amount_max: money.DecimalText | None = None,
    currency: CurrencyFilter = None,
    starting_after: str | None = None,
    limit: int = Parameter(default=50, ge=1, le=200),
) -> MerchantOrderPage:
    merchant_id = current_principal(request).user_id
    f = _filter(
        store_id, direction, status, created_from, created_to, merchant_order_id, amount_min, amount_max, currency
    )
    async with read_only() as session:
        cursor = await order_refs.cabinet_incoming_id(session, merchant_id, starting_after) if starting_after else None
        rows = await merchant_orders.list_orders(session, merchant_id, f, starting_after=cursor, limit=limit + 1)
        decimals = {currency: await fiat_decimals(session, currency) for currency in {row.currency for row in rows}}
        data = [_line_body(row, decimals[row.currency]) for row in rows[:limit]]
        totals = [TotalBody(**t) for t in await merchant_orders.totals(session, merchant_id, f)]
    return MerchantOrderPage(data, len(rows) > limit, totals)


@merchant_routes.get("/orders/{order_id:str}", operation_id="merchant_get_order")
async def get_order(request: Request[Any, Any, Any], order_id: str) -> MerchantOrderDetail:
    merchant_id = current_principal(request).user_id
    async with transaction() as session:
        incoming_id = await order_refs.cabinet_incoming_id(session, merchant_id, order_id)
        incoming = await merchant_orders.merchant_incoming(session, merchant_id, incoming_id)
        order = await order_records.find_order(session, incoming.order_id) if incoming.order_id else None
        body = _body(incoming, order, await fiat_decimals(session, incoming.currency))
        history = [
            StatusChangeBody(
                cast(OrderStatus | None, c.from_status), cast(OrderStatus, c.to_status), c.party, c.reason, c.created_at
            )
            for c in (await order_records.status_history(session, incoming.order_id) if incoming.order_id else [])
        ]
        events: list[CallbackEvent] = await callbacks.events_of_store(
            session, incoming.store_id, starting_after=None, limit=200, incoming_order_id=incoming.id
        )
    return MerchantOrderDetail(
        body,
        history,
        [
            CallbackSummary(str(e.event_id), e.type, cast(CallbackStatus, e.status), e.attempts, e.last_status_code)
            for e in events
        ],
    )


@merchant_routes.post(
    "/orders/{order_id:str}/dispute",
    operation_id="merchant_open_dispute",
    status_code=200,
    description="A pay-in the customer says they paid (client_confirmed) or a pay-out the trader says they paid "
    "(trader_paid) goes to support with your comment; the trader's collateral stays frozen meanwhile.",
)
async def open_dispute(request: Request[Any, Any, Any], order_id: str, data: OpenDispute) -> MerchantOrderBody:
    principal = current_principal(request)
    async with transaction() as session:
        incoming_id = await order_refs.cabinet_incoming_id(session, principal.user_id, order_id)
        order = await merchant_orders.open_dispute(
            session, principal.user_id, incoming_id, data.comment, principal.actor, client_ip(request)
        )
        incoming = await merchant_orders.merchant_incoming(session, principal.user_id, incoming_id)
        return _body(incoming, order, await fiat_decimals(session, incoming.currency))


@merchant_routes.post(
    "/orders/{order_id:str}/confirm",
    operation_id="merchant_confirm_payout",
    status_code=200,
    summary="Confirm a pay-out the trader marked paid",
    description="The recipient got the money: a pay-out in `trader_paid` becomes `completed` at once (without "
    "waiting PAYOUT_CONFIRMATION_TIMEOUT_MINUTES); the trader and the platform are settled and the "
    "`payout.completed` callback is sent. A repeat after completion answers the same order. "
    "409 `conflict` (with `current_status`) from any other status or for a pay-in, 409 `order_not_assigned` "
    "while no trader has it; another merchant's order is a 404.",
)
async def confirm_payout(request: Request[Any, Any, Any], order_id: str) -> MerchantOrderBody:
    principal = current_principal(request)
    async with transaction() as session:
        incoming_id = await order_refs.cabinet_incoming_id(session, principal.user_id, order_id)
        order = await merchant_orders.confirm_payout(
            session, principal.user_id, incoming_id, principal.actor, client_ip(request)
        )
        incoming = await merchant_orders.merchant_incoming(session, principal.user_id, incoming_id)
        return _body(incoming, order, await fiat_decimals(session, incoming.currency))


class EvidenceBody(msgspec.Struct):
    id: int
    content_type: str
    size: int
    sha256: str


@merchant_routes.post(
    "/orders/{order_id:str}/evidence",
    operation_id="merchant_upload_evidence",
    status_code=201,
    description="Attach evidence to an order (a dispute's bank statement, a receipt): PDF, PNG or JPEG in the "
    "multipart field `data`, up to RECEIPT_MAX_BYTES. Support sees it with the order.",
)
async def upload_evidence(
    request: Request[Any, Any, Any],
    order_id: str,
    data: MultipartForm,
) -> EvidenceBody:
    principal = current_principal(request)
    upload = form_file(data, "data")
    async with transaction() as session:
        incoming_id = await order_refs.cabinet_incoming_id(session, principal.user_id, order_id)
        incoming = await merchant_orders.merchant_incoming(session, principal.user_id, incoming_id)
    if incoming.order_id is None:
        raise NotFound("The order has not been assigned: there is nothing to attach evidence to", order_id=order_id)
    receipt = await receipts.upload_receipt(
        get_resources().session_factory,
        storage_for(get_settings()),
        order_id=incoming.order_id,
        party=Party.MERCHANT,
        actor=principal.actor,
        data=await upload.read(),
        content_type=upload.content_type,
        store_id=incoming.store_id,
        ip=client_ip(request),
    )
    return EvidenceBody(receipt.id, receipt.content_type, receipt.size, receipt.sha256)


CSV_COLUMNS = [
    "id",
    "store_id",
    "merchant_order_id",
    "direction",
    "status",
    "amount",
    "pay_amount",
    "currency",
    "rate",
    "created_at",
    "completed_at",
]


@merchant_routes.get(
    "/orders.csv",
    operation_id="merchant_export_orders",
    description="Orders created in [created_from, created_to) (at most 366 days), streamed in batches.",
    media_type="text/csv",
)
async def export_orders(
    request: Request[Any, Any, Any],
    created_from: dt.datetime,
    created_to: dt.datetime,
    store_id: int | None = None,
    direction: DirectionChoice | None = None,
    status: PublicOrderStatusChoice | None = None,
) -> Stream:
    merchant_id = current_principal(request).user_id
    f = _filter(store_id, direction, status, created_from, created_to, None, None, None, None)
    assert f.created_from is not None
    assert f.created_to is not None
    if f.created_to - f.created_from > dt.timedelta(days=MAX_EXPORT_DAYS):
        raise ValidationFailed(f"export at most {MAX_EXPORT_DAYS} days at once", field="created_to")
    async with transaction() as session:  # fail before the stream starts (bad filters → 422)
        await merchant_orders.list_orders(session, merchant_id, f, starting_after=None, limit=1)

    async def batches() -> AsyncIterator[list[list[object]]]:
        cursor: int | None = None
        while True:
            async with transaction("merchant.export") as session:
                batch = await merchant_orders.list_orders(
                    session, merchant_id, f, starting_after=cursor, limit=CSV_BATCH
                )
                bodies = [_line_body(row, await fiat_decimals(session, row.currency)) for row in batch]
            yield [
                [
                    b.id,
                    b.store_id,
                    b.merchant_order_id,
                    b.direction,
                    b.status,
                    b.amount,
                    b.pay_amount,
                    b.currency,
                    b.rate,
                    b.created_at.isoformat(),
                    b.completed_at.isoformat() if b.completed_at else None,
                ]
                for b in bodies
            ]
            if len(batch) < CSV_BATCH:
                return
            cursor = batch[-1].incoming_id

    return await csv_attachment(CSV_COLUMNS, batches(), "orders.csv")


handlers = [list_orders, export_orders, get_order, open_dispute, confirm_payout, upload_evidence]
