"""Store and trader commission rates (`/admin/stores|traders/{id}/commissions`, MANAGE_FINANCES)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, ClassVar, cast

import msgspec
from litestar import Request

from jivapay.domain import money
from jivapay.http.deps import client_ip, current_principal, transaction
from jivapay.http.enums import DecimalText, Direction, DirectionChoice
from jivapay.http.guards import FINANCES
from jivapay.http.routes import RouteGroup
from jivapay.services.ledger import commissions, owners
from jivapay.services.ledger.commissions import CommissionOwner

admin_routes = RouteGroup("admin", guards=FINANCES)


class AdminCommissionRow(msgspec.Struct):
    direction: Direction
    payment_method_id: int | None
    rate: DecimalText
    is_default: bool


class CommissionWrite(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"direction": "payin", "rate": "0.045", "payment_method_id": 1}

    direction: DirectionChoice
    rate: Annotated[str, money.DecimalFormat(example="0.045")]  # a fraction as a decimal string: "0.045" = 4.5 %
    payment_method_id: int | None = None  # None: for every method without its own rate


def _rows(table: list[tuple[str, int | None, Decimal, bool]]) -> list[AdminCommissionRow]:
    return [AdminCommissionRow(cast(Direction, d), pm, str(rate), default) for d, pm, rate, default in table]


async def _commission_table(owner: CommissionOwner, owner_id: int) -> list[AdminCommissionRow]:
    """The rates of a store or a trader, the platform's defaults where it has none of its own."""
    async with transaction("admin.commissions") as session:
        await owners.check_owner(session, owner, owner_id)
        return _rows(await commissions.commission_table(session, owner, owner_id))


async def _set_commission(
    request: Request[Any, Any, Any], owner: CommissionOwner, owner_id: int, data: CommissionWrite
) -> list[AdminCommissionRow]:
    """Set one rate of a store or a trader; the owner's whole table after it."""
    async with transaction("admin.commissions") as session:
        await owners.check_owner(session, owner, owner_id)
        await commissions.set_commission(
            session,
            current_principal(request).actor,
            owner=owner,
            owner_id=owner_id,
            direction=data.direction,
            rate=data.rate,
            payment_method_id=data.payment_method_id,
            ip=client_ip(request),
        )
        return _rows(await commissions.commission_table(session, owner, owner_id))


@admin_routes.get("/stores/{store_id:int}/commissions", operation_id="admin_store_commissions")
async def store_commissions(store_id: int) -> list[AdminCommissionRow]:
    return await _commission_table("store", store_id)


@admin_routes.put(
    "/stores/{store_id:int}/commissions",
    operation_id="admin_set_store_commission",
    description="What the platform takes from the store's orders, per direction and optionally per payment "
    "method. New orders use it at once; assigned orders keep the rate they were created with.",
)
async def set_store_commission(
    request: Request[Any, Any, Any], store_id: int, data: CommissionWrite
) -> list[AdminCommissionRow]:
    return await _set_commission(request, "store", store_id, data)


@admin_routes.get("/traders/{trader_id:int}/commissions", operation_id="admin_trader_commissions")
async def trader_commissions(trader_id: int) -> list[AdminCommissionRow]:
    return await _commission_table("trader", trader_id)


@admin_routes.put(
    "/traders/{trader_id:int}/commissions",
    operation_id="admin_set_trader_commission",
    description="What the trader earns on their orders, per direction and optionally per payment method.",
)
async def set_trader_commission(
    request: Request[Any, Any, Any], trader_id: int, data: CommissionWrite
) -> list[AdminCommissionRow]:
    return await _set_commission(request, "trader", trader_id, data)


route_handlers = [store_commissions, set_store_commission, trader_commissions, set_trader_commission]
