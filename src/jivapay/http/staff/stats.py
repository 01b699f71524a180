"""Platform statistics for admins with `manage_finances` (`/admin/stats`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Annotated

import msgspec
from litestar.di import Provide
from litestar.params import QueryParameter
from litestar.response import Stream

from jivapay.http.csv_export import csv_attachment
from jivapay.http.deps import transaction
from jivapay.http.enums import DecimalText, DirectionChoice
from jivapay.http.guards import FINANCES
from jivapay.http.openapi import document
from jivapay.http.routes import RouteGroup
from jivapay.services.staff import stats
from jivapay.services.staff.stats import StatsGroup

admin_routes = RouteGroup("admin", guards=FINANCES)

DEFAULT_DAYS = 30


class StatsRowBody(msgspec.Struct):
    key: str  # the day (YYYY-MM-DD) or the store, trader or payment method id ("0": no method); "total"
    currency: str
    orders: int
    completed: int
    canceled: int  # canceled, expired or declined
    disputed: int
    conversion: str  # completed / orders, 4 places
    turnover: DecimalText  # completed orders' fiat amount, major units of the currency
    platform_profit: DecimalText  # USDT
    avg_confirm_seconds: int | None  # from creation to completion, over completed orders


class StatsBody(msgspec.Struct):
    data: list[StatsRowBody]
    totals: list[StatsRowBody]
    refreshed_at: dt.datetime | None


CSV_COLUMNS = list(StatsRowBody.__struct_fields__)

_FILTERS = (
    "Orders created on the UTC days [from, to] (default: the last 30 days; at most 366), grouped by "
    "`group_by` (day, store, trader or payment_method) and always by currency; filters narrow them "
    "to a store, trader, payment method (0 = none), direction or currency. Served from daily rollups "
    "that lag the orders by up to STATS_REFRESH_SECONDS; `refreshed_at` says how fresh they are. "
    "`canceled` counts canceled, expired and declined orders, `disputed` orders that had a dispute, "
    "`turnover` completed orders' amounts, `platform_profit` the settled orders' USDT profit."
)


def _body(row: stats.StatsRow) -> StatsRowBody:
    return msgspec.convert(row, StatsRowBody, from_attributes=True)


async def _report(
    date_from: Annotated[dt.date | None, QueryParameter(name="from")] = None,
    date_to: Annotated[dt.date | None, QueryParameter(name="to")] = None,
    group_by: StatsGroup = StatsGroup.DAY,
    store_id: int | None = None,
    trader_id: int | None = None,
    payment_method_id: int | None = None,
    direction: DirectionChoice | None = None,
    currency: str | None = None,
) -> stats.StatsReport:
    """The query of both routes (a dependency: its parameters are theirs) and the rows it asks for."""
    date_from, date_to = stats.resolve_range(date_from, date_to, DEFAULT_DAYS)
    async with transaction("admin.stats") as session:
        return await stats.query_stats(
            session,
            date_from=date_from,
            date_to=date_to,
            group_by=group_by,
            store_id=store_id,
            trader_id=trader_id,
            payment_method_id=payment_method_id,
            direction=direction,
            currency=currency,
        )


@admin_routes.get("/stats", operation_id="admin_stats", description=_FILTERS, dependencies={"report": Provide(_report)})
async def get_stats(report: stats.StatsReport) -> StatsBody:
    return StatsBody([_body(r) for r in report.data], [_body(r) for r in report.totals], report.refreshed_at)


@admin_routes.get(
    "/stats.csv",
    operation_id="admin_stats_csv",
    media_type="text/csv",
    description="The same rows as `GET /admin/stats` as CSV, the per-currency totals last (key `total`).",
    dependencies={"report": Provide(_report)},
)
async def export_stats(report: stats.StatsReport, group_by: StatsGroup = StatsGroup.DAY) -> Stream:
    async def batches() -> AsyncIterator[list[tuple[object, ...]]]:
        yield [msgspec.structs.astuple(_body(row)) for row in [*report.data, *report.totals]]

    return await csv_attachment(CSV_COLUMNS, batches(), f"stats-{group_by.value}.csv")


route_handlers = [get_stats, export_stats]
document(route_handlers)
