"""Exchange rates for admins with `manage_finances`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar

import msgspec
from litestar import Request

from jivapay.domain import money
from jivapay.http.deps import client_ip, current_principal, transaction
from jivapay.http.enums import DecimalText
from jivapay.http.guards import FINANCES
from jivapay.http.routes import RouteGroup
from jivapay.services.platform import reference_data

admin_routes = RouteGroup("admin", guards=FINANCES)


class RateBody(msgspec.Struct):
    currency: str
    rate: DecimalText  # fiat units per 1 USDT
    source: str
    updated_at: dt.datetime
    updated_by: str | None


class NewRate(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"rate": "92.50"}

    # a decimal string: JSON numbers are refused so no float ever carries a rate
    rate: Annotated[str, money.DecimalFormat(example="92.50")]


@admin_routes.get("/rates", operation_id="admin_list_rates")
async def list_rates() -> list[RateBody]:
    async with transaction() as session:
        rates = await reference_data.list_rates(session)
    return [RateBody(r.currency, str(r.rate), r.source, r.updated_at, r.updated_by) for r in rates]


@admin_routes.put("/rates/{currency:str}", operation_id="admin_set_rate")
async def set_rate(request: Request[Any, Any, Any], currency: str, data: NewRate) -> RateBody:
    async with transaction() as session:
        await reference_data.set_exchange_rate(
            session, currency, data.rate, actor=current_principal(request).actor, ip=client_ip(request)
        )
        found = {r.currency: r for r in await reference_data.list_rates(session)}[currency.upper()]
    return RateBody(found.currency, str(found.rate), found.source, found.updated_at, found.updated_by)


route_handlers = [list_rates, set_rate]
