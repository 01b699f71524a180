"""Platform statistics (`/admin/stats`): daily rollups kept up to date, and queries over them.

``order_daily_stats`` holds one row per (UTC creation day, store, trader, payment method,
direction, currency). A refresh finds the days whose orders changed since the watermark
(order updates, settlements, disputes), deletes those days' rows and rebuilds them with one
GROUP BY over the order history, then moves the watermark to the refresh's start — all in
one transaction, under an advisory lock so two refreshes never interleave. A query sums
rollup rows, never orders, so a 90-day range costs the same at any history size.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.platform.reference import ReferenceRepository
from jivapay.adapters.db.staff.stats import GroupColumn, StatsRepository
from jivapay.domain.errors import ValidationFailed
from jivapay.domain.ledger import posting as L
from jivapay.domain.orders.status import DIRECTIONS

WATERMARK = "order_daily_stats"
#: changes committed by transactions that started before the last refresh but committed after
#: it carry an older timestamp: every refresh looks this far back past the watermark
OVERLAP = dt.timedelta(minutes=5)
MAX_RANGE_DAYS = 366
_CONVERSION_PLACES = Decimal("0.0001")
#: up to this many changed days are read day by day through an index; more, in one pass
INDEXED_DAYS = 14


class StatsGroup(enum.StrEnum):
    DAY = "day"
    STORE = "store"
    TRADER = "trader"
    PAYMENT_METHOD = "payment_method"


_GROUP_COLUMNS: dict[StatsGroup, GroupColumn] = {
    StatsGroup.DAY: "day",
    StatsGroup.STORE: "store_id",
    StatsGroup.TRADER: "trader_id",
    StatsGroup.PAYMENT_METHOD: "payment_method_id",
}


@dataclasses.dataclass(frozen=True, slots=True)
class StatsRow:
    key: str  # the day (YYYY-MM-DD) or the store/trader/payment method id ("0": none); "total" in totals
    currency: str
    orders: int
    completed: int
    canceled: int  # canceled, expired or declined
    disputed: int
    conversion: str  # completed / orders, 4 places
    turnover: str  # completed orders' fiat amount, in the currency's major units
    platform_profit: str  # USDT
    avg_confirm_seconds: int | None  # creation to completion, over completed orders


@dataclasses.dataclass(frozen=True, slots=True)
class StatsReport:
    data: list[StatsRow]
    totals: list[StatsRow]  # one per currency: fiat amounts in different currencies never add up
    refreshed_at: dt.datetime | None  # the rollups include every change committed before this


@dataclasses.dataclass(slots=True)
class _Sums:
    orders: int = 0
    completed: int = 0
    canceled: int = 0
    disputed: int = 0
    turnover: int = 0
    platform_profit: int = 0
    confirm_seconds: int = 0

    def add(self, other: _Sums) -> None:
        for field in dataclasses.fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))


async def refresh_rollups(session: AsyncSession) -> int:
    """Bring ``order_daily_stats`` up to date; returns how many days were rebuilt.

    The caller commits. The first refresh (no watermark) rebuilds every day.
    """
    repository = StatsRepository(session)
    await repository.lock_refresh()
    started = await repository.now()
    watermark = await repository.watermark(WATERMARK)
    if watermark is None:
        rebuilt = await repository.rebuild_all_days()
    else:
        days = await repository.changed_days(watermark.value - OVERLAP)
        if days:
            await repository.rebuild_days(days, day_by_day=len(days) <= INDEXED_DAYS)
        rebuilt = len(days)
    await repository.set_watermark(WATERMARK, started, {"days_rebuilt": rebuilt})
    return rebuilt


async def refreshed_at(session: AsyncSession) -> dt.datetime | None:
    watermark = await StatsRepository(session).watermark(WATERMARK)
    return watermark.value if watermark is not None else None


EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2999, 12, 31)


def resolve_range(date_from: dt.date | None, date_to: dt.date | None, default_days: int) -> tuple[dt.date, dt.date]:
    """[from, to] with the defaults filled in (to: today UTC; from: ``default_days`` back) and checked."""
    for value, field in ((date_from, "from"), (date_to, "to")):
        if value is not None and not EARLIEST <= value <= LATEST:
            raise ValidationFailed(f"dates are between {EARLIEST} and {LATEST}", field=field)
    date_to = date_to or dt.datetime.now(dt.UTC).date()
    date_from = date_from or max(date_to - dt.timedelta(days=default_days - 1), EARLIEST)
    check_range(date_from, date_to)
    return date_from, date_to


def check_range(date_from: dt.date, date_to: dt.date) -> None:
    if date_from > date_to:
        raise ValidationFailed("from must not be after to", field="from")
    if (date_to - date_from).days >= MAX_RANGE_DAYS:
        raise ValidationFailed(f"ask for at most {MAX_RANGE_DAYS} days at once", field="to", max_days=MAX_RANGE_DAYS)


def _group(group_by: str) -> StatsGroup:
    try:
        return StatsGroup(group_by)
    except ValueError:
        raise ValidationFailed(
            f"group_by is one of {', '.join(g.value for g in StatsGroup)}", field="group_by"
        ) from None


async def query_stats(
    session: AsyncSession,
    *,
    date_from: dt.date,
    date_to: dt.date,
    group_by: str = StatsGroup.DAY,
    store_id: int | None = None,
    trader_id: int | None = None,
    payment_method_id: int | None = None,
    direction: str | None = None,
    currency: str | None = None,
) -> StatsReport:
    """Orders created on [date_from, date_to] (UTC days), grouped by ``group_by`` and currency."""
    check_range(date_from, date_to)
    column = _GROUP_COLUMNS[_group(group_by)]
    if direction is not None and direction not in DIRECTIONS:
        raise ValidationFailed("direction is payin or payout", field="direction")
    sums_by_key = await StatsRepository(session).sums(
        column,
        date_from=date_from,
        date_to=date_to,
        store_id=store_id,
        trader_id=trader_id,
        payment_method_id=payment_method_id,
        direction=direction,
        currency=currency.upper() if currency else None,
    )
    grouped = [(key, cur, _Sums(*values)) for key, cur, values in sums_by_key]
    totals: dict[str, _Sums] = {}
    for _, cur, sums in grouped:
        totals.setdefault(cur, _Sums()).add(sums)
    references = ReferenceRepository(session)
    minor_units = {cur: await references.fiat_minor_units(cur) for cur in totals}
    return StatsReport(
        data=[_row(str(key), cur, sums, minor_units[cur]) for key, cur, sums in grouped],
        totals=[_row("total", cur, totals[cur], minor_units[cur]) for cur in sorted(totals)],
        refreshed_at=await refreshed_at(session),
    )


def _row(key: str, currency: str, sums: _Sums, minor_units: int) -> StatsRow:
    return StatsRow(
        key=key,
        currency=currency,
        orders=sums.orders,
        completed=sums.completed,
        canceled=sums.canceled,
        disputed=sums.disputed,
        conversion=conversion(sums.completed, sums.orders),
        turnover=L.format_amount(sums.turnover, minor_units),
        platform_profit=L.format_amount(sums.platform_profit, L.USDT_DECIMALS),
        avg_confirm_seconds=sums.confirm_seconds // sums.completed if sums.completed else None,
    )


def conversion(completed: int, orders: int) -> str:
    """completed / orders with 4 places ("0.6667"); "0" when there are no orders."""
    if not orders:
        return "0"
    return str((Decimal(completed) / Decimal(orders)).quantize(_CONVERSION_PLACES))
