"""Requisite endpoints: a trader's own (`/trader/requisites`) and all of them for admins."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import msgspec
from litestar import Request
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from jivapay.domain import money
from jivapay.domain.errors import NotFound, ValidationFailed
from jivapay.domain.ledger import posting as L
from jivapay.domain.orders.requisites import RequisiteDirection, RequisiteType
from jivapay.http.deps import client_ip, current_principal, transaction
from jivapay.http.guards import REQUISITES
from jivapay.http.routes import RouteGroup
from jivapay.services.ledger.balances import fiat_decimals
from jivapay.services.orders import requisites as service
from jivapay.settings import get_settings

trader_routes = RouteGroup("trader")
admin_routes = RouteGroup("admin", guards=REQUISITES)


class Limits(msgspec.Struct):
    """Fiat amounts as decimal strings; null = no limit."""

    min_amount: money.DecimalText | None = None
    max_amount: money.DecimalText | None = None
    daily_limit: money.DecimalText | None = None
    monthly_limit: money.DecimalText | None = None
    orders_per_day: int | None = None
    max_open_orders: int | None = None


class NewRequisite(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {
        "type": "card",
        "bank_id": 1,
        "payment_method_id": 1,
        "currency": "RUB",
        "owner_name": "Ivan Petrov",
        "number": "2200000000000004",
        "direction": "both",
        "limits": {
            "min_amount": "500.00",
            "max_amount": "50000.00",
            "daily_limit": "300000.00",
            "monthly_limit": "3000000.00",
            "orders_per_day": 40,
            "max_open_orders": 3,
        },
    }

    type: RequisiteType
    bank_id: int
    payment_method_id: int
    currency: str
    owner_name: str
    number: str
    direction: RequisiteDirection = RequisiteDirection.BOTH
    limits: Limits = msgspec.field(default_factory=Limits)


class AdminNewRequisite(NewRequisite, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {
        "trader_id": 42,
        **NewRequisite.EXAMPLE,
        "direction": "payin",
        "limits": {"min_amount": "500.00", "max_amount": "50000.00"},
    }

    trader_id: int = 0


class RequisitePatch(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {
        "is_active": True,
        "direction": "payin",
        "limits": {"min_amount": "1000.00", "max_amount": "30000.00", "daily_limit": "200000.00"},
    }

    is_active: bool | msgspec.UnsetType = msgspec.UNSET
    direction: RequisiteDirection | msgspec.UnsetType = msgspec.UNSET
    limits: Limits | msgspec.UnsetType = msgspec.UNSET


class RequisiteBody(msgspec.Struct):
    id: int
    trader_id: int
    type: str
    bank_id: int
    payment_method_id: int
    currency: str
    owner_name: str
    number: str
    direction: RequisiteDirection
    is_active: bool
    limits: Limits
    last_used_at: dt.datetime | None
    created_at: dt.datetime


class RequisitePage(msgspec.Struct):
    data: list[RequisiteBody]
    has_more: bool


async def _decimals_of(session: Any, currency: str) -> int:
    try:
        return await fiat_decimals(session, currency)
    except NotFound:
        raise ValidationFailed(f"unknown currency {currency!r}", field="currency") from None


def _limits_in(limits: Limits, decimals: int) -> dict[str, int | None]:
    out: dict[str, int | None] = {}
    for name in ("min_amount", "max_amount", "daily_limit", "monthly_limit"):
        value = getattr(limits, name)
        out[name] = None if value is None else L.parse_amount(value, decimals, field=name)
    out["orders_per_day"] = limits.orders_per_day
    out["max_open_orders"] = limits.max_open_orders
    return out


def _body(found: service.RequisiteView, decimals: int) -> RequisiteBody:
    r = found.requisite

    def fmt(value: int | None) -> str | None:
        return None if value is None else L.format_amount(value, decimals)

    return RequisiteBody(
        id=r.id,
        trader_id=r.trader_id,
        type=r.type,
        bank_id=r.bank_id,
        payment_method_id=r.payment_method_id,
        currency=r.currency,
        owner_name=found.owner_name,
        number=found.number,
        direction=RequisiteDirection(r.direction),
        is_active=r.is_active,
        limits=Limits(
            fmt(r.min_amount),
            fmt(r.max_amount),
            fmt(r.daily_limit),
            fmt(r.monthly_limit),
            r.orders_per_day,
            r.max_open_orders,
        ),
        last_used_at=r.last_used_at,
        created_at=r.created_at,
    )


async def _create(request: Request[Any, Any, Any], data: NewRequisite, trader_id: int) -> RequisiteBody:
    settings = get_settings()
    async with transaction() as session:
        decimals = await _decimals_of(session, data.currency.upper())
        limits = _limits_in(data.limits, decimals)
        requisite = await service.create_requisite(
            session,
            settings,
            current_principal(request).actor,
            trader_id=trader_id,
            type_=data.type,
            bank_id=data.bank_id,
            payment_method_id=data.payment_method_id,
            currency=data.currency,
            owner_name=data.owner_name,
            number=data.number,
            direction=data.direction,
            limits=limits,
            ip=client_ip(request),
        )
    return _body(service.view(requisite, settings, full=False), decimals)


async def _list(
    trader_id: int | None, filters: dict[str, Any], starting_after: int | None, limit: int
) -> RequisitePage:
    settings = get_settings()
    async with transaction() as session:
        found = await service.list_requisites(
            session, trader_id=trader_id, filters=filters, starting_after=starting_after, limit=limit + 1
        )
        bodies = [
            _body(service.view(r, settings, full=False), await fiat_decimals(session, r.currency))
            for r in found[:limit]
        ]
    return RequisitePage(bodies, has_more=len(found) > limit)


async def _detail(requisite_id: int, trader_id: int | None, *, full: bool) -> RequisiteBody:
    settings = get_settings()
    async with transaction() as session:
        requisite = await service.get_requisite(session, requisite_id, trader_id=trader_id)
        return _body(service.view(requisite, settings, full=full), await fiat_decimals(session, requisite.currency))


async def _update(
    request: Request[Any, Any, Any], requisite_id: int, data: RequisitePatch, trader_id: int | None
) -> RequisiteBody:
    settings = get_settings()
    async with transaction() as session:
        current = await service.get_requisite(session, requisite_id, trader_id=trader_id)
        changes: dict[str, Any] = {}
        if data.is_active is not msgspec.UNSET:
            changes["is_active"] = data.is_active
        if data.direction is not msgspec.UNSET:
            changes["direction"] = data.direction
        if data.limits is not msgspec.UNSET:
            changes.update(_limits_in(data.limits, await fiat_decimals(session, current.currency)))
        requisite = await service.update_requisite(
            session,
            current_principal(request).actor,
            requisite_id,
            trader_id=trader_id,
            changes=changes,
            ip=client_ip(request),
        )
        return _body(service.view(requisite, settings, full=False), await fiat_decimals(session, requisite.currency))


# --- trader -------------------------------------------------------------------------------


@trader_routes.get("/requisites", operation_id="trader_list_requisites", summary="Own requisites (masked)")
async def trader_list(
    request: Request[Any, Any, Any],
    is_active: bool | None = None,
    currency: str | None = None,
    starting_after: int | None = None,
    limit: int = Parameter(default=50, ge=1, le=200),
) -> RequisitePage:
    return await _list(
        current_principal(request).user_id, {"is_active": is_active, "currency": currency}, starting_after, limit
    )


@trader_routes.post("/requisites", operation_id="trader_create_requisite", status_code=HTTP_201_CREATED)
async def trader_create(request: Request[Any, Any, Any], data: NewRequisite) -> RequisiteBody:
    return await _create(request, data, current_principal(request).user_id)


@trader_routes.get(
    "/requisites/{requisite_id:int}",
    operation_id="trader_get_requisite",
    summary="One own requisite with its full number",
)
async def trader_get(request: Request[Any, Any, Any], requisite_id: int) -> RequisiteBody:
    return await _detail(requisite_id, current_principal(request).user_id, full=True)  # the owner's own


@trader_routes.patch("/requisites/{requisite_id:int}", operation_id="trader_update_requisite")
async def trader_update(request: Request[Any, Any, Any], requisite_id: int, data: RequisitePatch) -> RequisiteBody:
    return await _update(request, requisite_id, data, current_principal(request).user_id)


@trader_routes.delete(
    "/requisites/{requisite_id:int}", operation_id="trader_archive_requisite", status_code=HTTP_204_NO_CONTENT
)
async def trader_archive(request: Request[Any, Any, Any], requisite_id: int) -> None:
    principal = current_principal(request)
    async with transaction() as session:
        await service.archive_requisite(
            session, principal.actor, requisite_id, trader_id=principal.user_id, ip=client_ip(request)
        )


trader_handlers = [trader_list, trader_create, trader_get, trader_update, trader_archive]


# --- admin --------------------------------------------------------------------------------


@admin_routes.get("/requisites", operation_id="admin_list_requisites")
async def admin_list(
    trader_id: int | None = None,
    is_active: bool | None = None,
    currency: str | None = None,
    starting_after: int | None = None,
    limit: int = Parameter(default=50, ge=1, le=200),
) -> RequisitePage:
    return await _list(
        None, {"trader_id": trader_id, "is_active": is_active, "currency": currency}, starting_after, limit
    )


@admin_routes.post("/requisites", operation_id="admin_create_requisite", status_code=HTTP_201_CREATED)
async def admin_create(request: Request[Any, Any, Any], data: AdminNewRequisite) -> RequisiteBody:
    if data.trader_id <= 0:
        raise ValidationFailed("trader_id is required", field="trader_id")
    return await _create(request, data, data.trader_id)


@admin_routes.get(
    "/requisites/{requisite_id:int}",
    operation_id="admin_get_requisite",
    summary="A requisite, masked (full details only through the audited reveal)",
)
async def admin_get(requisite_id: int) -> RequisiteBody:
    return await _detail(requisite_id, None, full=False)


class RevealBody(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"reason": "Support ticket 4521: the customer disputes which card they paid to"}

    reason: str  # why the full details are needed: kept in the audit log with who and when


@admin_routes.post(
    "/requisites/{requisite_id:int}/reveal",
    operation_id="admin_reveal_requisite",
    status_code=200,
    summary="Full number and owner name of a requisite; needs manage_requisites and a reason, audited",
)
async def admin_reveal(request: Request[Any, Any, Any], requisite_id: int, data: RevealBody) -> RequisiteBody:
    settings = get_settings()
    async with transaction() as session:
        requisite = await service.reveal_requisite(
            session, current_principal(request).actor, requisite_id, reason=data.reason, ip=client_ip(request)
        )
        return _body(service.view(requisite, settings, full=True), await fiat_decimals(session, requisite.currency))


@admin_routes.patch("/requisites/{requisite_id:int}", operation_id="admin_update_requisite")
async def admin_update(request: Request[Any, Any, Any], requisite_id: int, data: RequisitePatch) -> RequisiteBody:
    return await _update(request, requisite_id, data, None)


@admin_routes.delete(
    "/requisites/{requisite_id:int}", operation_id="admin_archive_requisite", status_code=HTTP_204_NO_CONTENT
)
async def admin_archive(request: Request[Any, Any, Any], requisite_id: int) -> None:
    async with transaction() as session:
        await service.archive_requisite(
            session, current_principal(request).actor, requisite_id, trader_id=None, ip=client_ip(request)
        )


admin_handlers = [admin_list, admin_create, admin_get, admin_reveal, admin_update, admin_archive]
