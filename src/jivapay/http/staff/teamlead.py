"""A teamlead's team (`/teamlead/traders/*`): the traders, their traffic, their statistics.

Only the teamlead's own traders exist here: another team's trader is a 404 on every route.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar

import msgspec
from litestar import Request
from litestar.params import QueryParameter

from jivapay.http.deps import client_ip, current_principal, transaction
from jivapay.http.enums import DecimalText, Direction
from jivapay.http.routes import RouteGroup
from jivapay.services.staff import teamlead as team
from jivapay.services.staff.stats import resolve_range
from jivapay.services.staff.teamlead import MAX_TRAFFIC_PRIORITY

teamlead_routes = RouteGroup("teamlead")

DEFAULT_DAYS = 30


class AmountBody(msgspec.Struct):
    currency: str
    amount: DecimalText  # decimal string, major units


class TeamTraderBody(msgspec.Struct):
    id: int
    login: str
    is_active: bool
    in_work: bool
    traffic_priority: int  # lower is served first
    available: DecimalText  # USDT
    frozen: DecimalText  # USDT, collateral held for open orders
    open_orders: int
    turnover_today: list[AmountBody]  # completed today (UTC), per currency


class TrafficChange(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"in_work": True, "traffic_priority": 10}

    in_work: bool | msgspec.UnsetType = msgspec.UNSET
    traffic_priority: Annotated[int, msgspec.Meta(ge=0, le=MAX_TRAFFIC_PRIORITY)] | msgspec.UnsetType = msgspec.UNSET


class StatsLineBody(msgspec.Struct):
    day: dt.date | None  # null on the totals
    direction: Direction
    orders: int  # assigned
    completed: int
    conversion: str  # completed / orders, 4 places
    turnover: list[AmountBody]  # completed orders, per currency
    avg_confirm_seconds: int | None  # from creation to completion, over completed orders
    disputes: int  # orders that were disputed


class TraderStatsBody(msgspec.Struct):
    trader_id: int
    date_from: dt.date
    date_to: dt.date
    days: list[StatsLineBody]
    totals: list[StatsLineBody]  # per direction over the whole range


def _trader_body(t: team.TeamTrader) -> TeamTraderBody:
    return msgspec.convert(t, TeamTraderBody, from_attributes=True)


def _line_body(line: team.StatsLine) -> StatsLineBody:
    return msgspec.convert(line, StatsLineBody, from_attributes=True)


@teamlead_routes.get("/traders", operation_id="teamlead_list_traders")
async def list_traders(request: Request[Any, Any, Any]) -> list[TeamTraderBody]:
    async with transaction("teamlead.traders") as session:
        traders = await team.team_traders(session, current_principal(request).user_id)
    return [_trader_body(t) for t in traders]


@teamlead_routes.put("/traders/{trader_id:int}/traffic", operation_id="teamlead_set_trader_traffic")
async def set_trader_traffic(request: Request[Any, Any, Any], trader_id: int, data: TrafficChange) -> TeamTraderBody:
    in_work = None if data.in_work is msgspec.UNSET else data.in_work
    priority = None if data.traffic_priority is msgspec.UNSET else data.traffic_priority
    principal = current_principal(request)
    async with transaction("teamlead.traffic") as session:
        trader = await team.set_team_traffic(
            session,
            principal.actor,
            principal.user_id,
            trader_id,
            in_work=in_work,
            traffic_priority=priority,
            ip=client_ip(request),
        )
    return _trader_body(trader)


@teamlead_routes.get("/traders/{trader_id:int}/stats", operation_id="teamlead_trader_stats")
async def trader_stats(
    request: Request[Any, Any, Any],
    trader_id: int,
    date_from: Annotated[dt.date | None, QueryParameter(name="from")] = None,
    date_to: Annotated[dt.date | None, QueryParameter(name="to")] = None,
) -> TraderStatsBody:
    date_from, date_to = resolve_range(date_from, date_to, DEFAULT_DAYS)
    async with transaction("teamlead.stats") as session:
        stats = await team.trader_stats(session, current_principal(request).user_id, trader_id, date_from, date_to)
    return TraderStatsBody(
        stats.trader_id,
        stats.date_from,
        stats.date_to,
        [_line_body(line) for line in stats.days],
        [_line_body(line) for line in stats.totals],
    )


DESCRIPTIONS = {
    "teamlead_me": "The signed-in teamlead's profile (team name, reward share).",
    "teamlead_list_traders": "The team's traders by id: USDT available and frozen, whether they take orders "
    "(in_work) and their traffic priority, open orders, and the fiat turnover of orders completed today (UTC).",
    "teamlead_set_trader_traffic": "Switch a team trader's traffic on or off (`in_work`) and/or set its "
    f"`traffic_priority` (0-{MAX_TRAFFIC_PRIORITY}, lower is served first). Requisite selection sees the change "
    "as soon as it is saved; orders the trader already has stay theirs. Send at least one field.",
    "teamlead_trader_stats": "A team trader's orders created on the UTC days [from, to] (default: the last "
    f"{DEFAULT_DAYS} days; at most 366), by day and direction, and per direction over the range: assigned "
    "orders, completed, conversion (completed / assigned), turnover of completed orders per currency, the "
    "average seconds from creation to completion, and orders that were disputed. Days without orders are "
    "left out. Read live from the order history.",
}

team_handlers = [list_traders, set_trader_traffic, trader_stats]
