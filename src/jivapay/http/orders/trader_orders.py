"""The trader's orders: list, detail, confirm, cancel; and the trader's own traffic switch."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, ClassVar, cast

import msgspec
from litestar import Request
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED

from jivapay.adapters.db.models import OrderHistory, Receipt
from jivapay.adapters.resources import get_resources
from jivapay.adapters.storage import storage_for
from jivapay.domain.errors import ValidationFailed
from jivapay.domain.ledger import posting as L
from jivapay.domain.orders.status import Party
from jivapay.http.deps import MultipartForm, client_ip, current_principal, form_file, transaction
from jivapay.http.enums import DecimalText, Direction, DirectionChoice, OrderStatus, OrderStatusChoice
from jivapay.http.routes import RouteGroup
from jivapay.services.identity.users import set_traffic
from jivapay.services.ledger.balances import fiat_decimals
from jivapay.services.orders import payouts, receipts
from jivapay.services.orders import refs as order_refs
from jivapay.services.orders import status as order_status
from jivapay.services.platform.config import get_config
from jivapay.settings import get_settings

trader_routes = RouteGroup("trader")


class OrderBody(msgspec.Struct):
    id: str  # the order's public reference (ord_…), the one the merchant and support see
    direction: Direction
    status: OrderStatus
    amount: DecimalText  # the exact amount to pay (pay-out) or to receive (pay-in)
    currency: str
    rate: DecimalText
    requisite_id: int | None
    created_at: dt.datetime
    expires_at: dt.datetime | None
    completed_at: dt.datetime | None
    recipient_last4: str | None = None  # pay-outs: the recipient's number, last 4 only


class PayoutRecipientBody(msgspec.Struct):
    number: str  # in full while the order is open, else "**** 1234"
    name: str  # in full while the order is open, else "Anna S."
    bank: str | None
    payment_method: str | None
    revealed: bool


class TraderOrderDetailBody(OrderBody, kw_only=True):
    recipient: PayoutRecipientBody | None = None  # pay-outs: where to send the money


class OrderPage(msgspec.Struct):
    data: list[OrderBody]
    has_more: bool


class CancelBody(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"reason": "No payment arrived on the card within the deadline"}

    reason: str | None = None


class TrafficBody(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"in_work": True}

    in_work: bool


async def _body(session: Any, order: OrderHistory, recipient_last4: str | None = None) -> OrderBody:
    decimals = await fiat_decimals(session, order.currency)
    return OrderBody(
        order.public_id,
        cast(Direction, order.direction),
        cast(OrderStatus, order.status),
        L.format_amount(order.amount, decimals),
        order.currency,
        str(order.rate),
        order.requisite_id,
        order.created_at,
        order.expires_at,
        order.completed_at,
        recipient_last4,
    )


@trader_routes.get("/orders", operation_id="trader_list_orders")
async def list_orders(
    request: Request[Any, Any, Any],
    status: OrderStatusChoice | None = None,
    direction: DirectionChoice | None = None,
    starting_after: str | None = Parameter(default=None, description="the last order's id (ord_…) of the page"),
    limit: int = Parameter(default=50, ge=1, le=200),
) -> OrderPage:
    trader_id = current_principal(request).user_id
    async with transaction() as session:
        cursor = await order_refs.trader_order_id(session, trader_id, starting_after) if starting_after else None
        orders = await order_status.trader_orders(
            session,
            trader_id,
            status=status,
            direction=direction,
            starting_after=cursor,
            limit=limit + 1,
        )
        page = orders[:limit]
        last4 = await payouts.recipient_last4(session, page)
        return OrderPage([await _body(session, o, last4.get(o.id)) for o in page], has_more=len(orders) > limit)


@trader_routes.get(
    "/orders/{order_id:str}",
    operation_id="trader_get_order",
    summary="One of my orders; a pay-out with its recipient's requisite",
    description="A pay-out shows where to send the money (`recipient`: number, name, bank, payment method) "
    "in full while the order is open; every such read is in the audit log (`order.recipient_reveal`). Once "
    "the order has ended, and in lists, only the last 4 characters of the number are shown.",
)
async def get_order(request: Request[Any, Any, Any], order_id: str) -> TraderOrderDetailBody:
    principal = current_principal(request)
    async with transaction() as session:
        own_id = await order_refs.trader_order_id(session, principal.user_id, order_id)
        detail = await payouts.trader_order_detail(
            session, get_settings(), principal.user_id, own_id, actor=principal.actor, ip=client_ip(request)
        )
        fields = msgspec.structs.asdict(await _body(session, detail.order))
    recipient = detail.recipient
    if recipient is None:
        return TraderOrderDetailBody(**fields)
    fields["recipient_last4"] = recipient.number[-4:]
    return TraderOrderDetailBody(**fields, recipient=PayoutRecipientBody(**dataclasses.asdict(recipient)))


async def _move_on(
    request: Request[Any, Any, Any], order_id: str, *, payin: str, payout: str, reason: str | None = None
) -> OrderBody:
    """The trader moves one of their orders to ``payin`` or ``payout``, whichever its direction is."""
    principal = current_principal(request)
    async with transaction() as session:
        own_id = await order_refs.trader_order_id(session, principal.user_id, order_id)
        order = await order_status.trader_order(session, principal.user_id, own_id)
        target = payin if order.direction == "payin" else payout
        if target == "trader_paid" and not await receipts.has_receipt(session, own_id):
            raise ValidationFailed("upload the payment receipt before confirming a pay-out", field="receipt")
        order = await order_status.change_status(
            session,
            own_id,
            target,
            party=Party.TRADER,
            actor=principal.actor,
            reason=reason,
            trader_id=principal.user_id,
            ip=client_ip(request),
        )
        return await _body(session, order)


@trader_routes.post(
    "/orders/{order_id:str}/confirm",
    operation_id="trader_confirm_order",
    status_code=200,
    summary="Pay-in: the money arrived (completes it). Pay-out: I paid it.",
)
async def confirm_order(request: Request[Any, Any, Any], order_id: str) -> OrderBody:
    return await _move_on(request, order_id, payin="completed", payout="trader_paid")


@trader_routes.post(
    "/orders/{order_id:str}/cancel",
    operation_id="trader_cancel_order",
    status_code=200,
    summary="Pay-in: the money did not arrive. Pay-out: decline it (it goes to another trader).",
)
async def cancel_order(request: Request[Any, Any, Any], order_id: str, data: CancelBody) -> OrderBody:
    return await _move_on(request, order_id, payin="canceled", payout="declined", reason=data.reason)


@trader_routes.put("/traffic", operation_id="trader_set_traffic", summary="Take orders (in work) or stop")
async def set_own_traffic(request: Request[Any, Any, Any], data: TrafficBody) -> TrafficBody:
    principal = current_principal(request)
    async with transaction() as session:
        await set_traffic(session, principal.actor, principal.user_id, in_work=data.in_work, ip=client_ip(request))
    return data


handlers = [list_orders, get_order, confirm_order, cancel_order, set_own_traffic]


class ReceiptBody(msgspec.Struct):
    id: int
    content_type: str
    size: int
    sha256: str
    created_at: dt.datetime
    url: str  # short-lived download link


async def _receipt_body(receipt: Receipt) -> ReceiptBody:
    # no transaction: the setting comes from the process's cache (a connection only when it is stale)
    ttl = await get_config("RECEIPT_URL_TTL_SECONDS", int)
    url = await storage_for(get_settings()).download_url(receipt.object_key, ttl)
    return ReceiptBody(receipt.id, receipt.content_type, receipt.size, receipt.sha256, receipt.created_at, url)


@trader_routes.post(
    "/orders/{order_id:str}/receipts",
    operation_id="trader_upload_receipt",
    status_code=HTTP_201_CREATED,
    summary="Attach a payment receipt (PDF, PNG or JPEG)",
)
async def upload(
    request: Request[Any, Any, Any],
    order_id: str,
    data: MultipartForm,
) -> ReceiptBody:
    principal = current_principal(request)
    upload = form_file(data, "data")
    async with transaction("trader.receipt_target") as session:
        own_id = await order_refs.trader_order_id(session, principal.user_id, order_id)
    receipt = await receipts.upload_receipt(
        get_resources().session_factory,
        storage_for(get_settings()),
        order_id=own_id,
        party=Party.TRADER,
        actor=principal.actor,
        data=await upload.read(),
        content_type=upload.content_type,
        trader_id=principal.user_id,
        ip=client_ip(request),
    )
    return await _receipt_body(receipt)


@trader_routes.get("/orders/{order_id:str}/receipts", operation_id="trader_list_receipts")
async def list_receipts(request: Request[Any, Any, Any], order_id: str) -> list[ReceiptBody]:
    trader_id = current_principal(request).user_id
    async with transaction() as session:
        own_id = await order_refs.trader_order_id(session, trader_id, order_id)
        found = await receipts.receipts_of(session, own_id, Party.TRADER, trader_id=trader_id)
    return [await _receipt_body(r) for r in found]


handlers += [upload, list_receipts]
