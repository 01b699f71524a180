"""The trader's orders: list, detail, confirm, cancel; and the trader's own traffic switch."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import Request, get, post, put
from litestar.params import Parameter

from jivapay.adapters.db.models import OrderHistory
from jivapay.domain import ledger as L
from jivapay.domain.orders import Party
from jivapay.http.deps import client_ip, current_principal, transaction
from jivapay.services import order_status
from jivapay.services.balances import fiat_decimals
from jivapay.services.users import set_traffic


class OrderBody(msgspec.Struct):
    id: int
    direction: str
    status: str
    amount: str
    currency: str
    rate: str
    requisite_id: int | None
    created_at: dt.datetime
    expires_at: dt.datetime | None
    completed_at: dt.datetime | None


class OrderPage(msgspec.Struct):
    data: list[OrderBody]
    has_more: bool


class CancelBody(msgspec.Struct, forbid_unknown_fields=True):
    reason: str | None = None


class TrafficBody(msgspec.Struct, forbid_unknown_fields=True):
    in_work: bool


async def _body(session: Any, order: OrderHistory) -> OrderBody:
    decimals = await fiat_decimals(session, order.currency)
    return OrderBody(
        order.id,
        order.direction,
        order.status,
        L.format_amount(order.amount, decimals),
        order.currency,
        str(order.rate),
        order.requisite_id,
        order.created_at,
        order.expires_at,
        order.completed_at,
    )


@get("/orders", operation_id="trader_list_orders", tags=["trader"])
async def list_orders(
    request: Request[Any, Any, Any],
    status: str | None = None,
    direction: str | None = None,
    starting_after: int | None = None,
    limit: int = Parameter(default=50, ge=1, le=200),
) -> OrderPage:
    async with transaction() as session:
        orders = await order_status.trader_orders(
            session,
            current_principal(request).user_id,
            status=status,
            direction=direction,
            starting_after=starting_after,
            limit=limit + 1,
        )
        return OrderPage([await _body(session, o) for o in orders[:limit]], has_more=len(orders) > limit)


@get("/orders/{order_id:int}", operation_id="trader_get_order", tags=["trader"])
async def get_order(request: Request[Any, Any, Any], order_id: int) -> OrderBody:
    async with transaction() as session:
        return await _body(
            session, await order_status.trader_order(session, current_principal(request).user_id, order_id)
        )


@post(
    "/orders/{order_id:int}/confirm",
    operation_id="trader_confirm_order",
    tags=["trader"],
    status_code=200,
    summary="Pay-in: the money arrived (completes it). Pay-out: I paid it.",
)
async def confirm_order(request: Request[Any, Any, Any], order_id: int) -> OrderBody:
    principal = current_principal(request)
    async with transaction() as session:
        order = await order_status.trader_order(session, principal.user_id, order_id)
        target = "completed" if order.direction == "payin" else "trader_paid"
        order = await order_status.change_status(
            session,
            order_id,
            target,
            party=Party.TRADER,
            actor=principal.actor,
            trader_id=principal.user_id,
            ip=client_ip(request),
        )
        return await _body(session, order)


@post(
    "/orders/{order_id:int}/cancel",
    operation_id="trader_cancel_order",
    tags=["trader"],
    status_code=200,
    summary="Pay-in: the money did not arrive. Pay-out: decline it (it goes to another trader).",
)
async def cancel_order(request: Request[Any, Any, Any], order_id: int, data: CancelBody) -> OrderBody:
    principal = current_principal(request)
    async with transaction() as session:
        order = await order_status.trader_order(session, principal.user_id, order_id)
        target = "canceled" if order.direction == "payin" else "declined"
        order = await order_status.change_status(
            session,
            order_id,
            target,
            party=Party.TRADER,
            actor=principal.actor,
            reason=data.reason,
            trader_id=principal.user_id,
            ip=client_ip(request),
        )
        return await _body(session, order)


@put("/traffic", operation_id="trader_set_traffic", tags=["trader"], summary="Take orders (in work) or stop")
async def set_own_traffic(request: Request[Any, Any, Any], data: TrafficBody) -> TrafficBody:
    principal = current_principal(request)
    async with transaction() as session:
        await set_traffic(session, principal.actor, principal.user_id, in_work=data.in_work, ip=client_ip(request))
    return data


handlers = [list_orders, get_order, confirm_order, cancel_order, set_own_traffic]
