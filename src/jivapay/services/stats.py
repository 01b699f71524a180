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
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import RollupWatermark
from jivapay.adapters.db.repositories.reference import ReferenceRepository
from jivapay.domain import ledger as L
from jivapay.domain.errors import ValidationFailed

WATERMARK = "order_daily_stats"
#: changes committed by transactions that started before the last refresh but committed after
#: it carry an older timestamp: every refresh looks this far back past the watermark
OVERLAP = dt.timedelta(minutes=5)
MAX_RANGE_DAYS = 366
#: pg_advisory_xact_lock key of the rollup refresh (any constant no other lock uses)
_REFRESH_LOCK = 0x4A495641_53544154  # "JIVASTAT"
_CONVERSION_PLACES = Decimal("0.0001")

# One row per rollup key: assigned orders, outcomes, completed turnover, settled profit and
# the seconds from creation to completion. ``{days_join}`` or ``{days_where}`` picks the days.
_ROLLUP_SELECT = """
SELECT (o.created_at AT TIME ZONE 'UTC')::date,
       o.store_id, o.trader_id, coalesce(o.payment_method_id, 0), o.direction, o.currency,
       count(*),
       count(*) FILTER (WHERE o.status = 'completed'),
       count(*) FILTER (WHERE o.status IN ('canceled', 'expired', 'declined')),
       count(*) FILTER (WHERE o.status = 'disputed' OR d.order_id IS NOT NULL),
       coalesce(sum(o.amount) FILTER (WHERE o.status = 'completed'), 0),
       coalesce(sum(s.platform_profit), 0),
       coalesce(sum(floor(extract(epoch FROM o.completed_at - o.created_at)))
                FILTER (WHERE o.status = 'completed' AND o.completed_at IS NOT NULL), 0)
FROM order_history o {days_join}
LEFT JOIN order_settlements s ON s.order_id = o.id
LEFT JOIN order_disputes d ON d.order_id = o.id
{days_where}
GROUP BY 1, 2, 3, 4, 5, 6
"""
_ROLLUP_INSERT = (
    "INSERT INTO order_daily_stats (day, store_id, trader_id, payment_method_id, direction, currency, orders, "
    "completed, canceled, disputed, turnover, platform_profit, confirm_seconds)"
)
# The creation days of orders touched since :since (updated, settled, disputed or resolved).
_CHANGED_DAYS = text(
    """
    SELECT DISTINCT (o.created_at AT TIME ZONE 'UTC')::date AS day
    FROM order_history o
    WHERE o.id IN (
        SELECT id FROM order_history WHERE updated_at > :since
        UNION SELECT order_id FROM order_settlements WHERE created_at > :since
        UNION SELECT order_id FROM order_disputes WHERE opened_at > :since OR resolved_at > :since
    )
    ORDER BY day
    """
)
#: up to this many changed days are read day by day through an index; more, in one pass
INDEXED_DAYS = 14
# ``_ROLLUP_SELECT`` for every order, for the orders created on :days (UTC) day by day — the
# (store_id, created_at) index walked once per store and day, as there is no index on created_at
# alone, so a refresh of today reads today's orders — or for :days in one pass over the history.
_ALL_DAYS = {"days_join": "", "days_where": ""}
_FEW_DAYS = {
    "days_join": """
JOIN unnest(CAST(:days AS date[])) AS changed(day)
  ON o.store_id = ANY(ARRAY(SELECT id FROM stores))
 AND o.created_at >= changed.day::timestamp AT TIME ZONE 'UTC'
 AND o.created_at < (changed.day + 1)::timestamp AT TIME ZONE 'UTC'
""",
    "days_where": "",
}
_MANY_DAYS = {
    "days_join": "",
    "days_where": "WHERE (o.created_at AT TIME ZONE 'UTC')::date = ANY(CAST(:days AS date[]))",
}


class StatsGroup(enum.StrEnum):
    DAY = "day"
    STORE = "store"
    TRADER = "trader"
    PAYMENT_METHOD = "payment_method"


_GROUP_COLUMNS = {
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
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _REFRESH_LOCK})
    started: dt.datetime = (await session.execute(text("SELECT now()"))).scalar_one()
    watermark = await session.get(RollupWatermark, WATERMARK)
    if watermark is None:
        await session.execute(text("DELETE FROM order_daily_stats"))
        await session.execute(text(_ROLLUP_INSERT + _ROLLUP_SELECT.format(**_ALL_DAYS)))
        rebuilt = int((await session.execute(text("SELECT count(DISTINCT day) FROM order_daily_stats"))).scalar_one())
    else:
        since = watermark.value - OVERLAP
        days: list[dt.date] = list((await session.execute(_CHANGED_DAYS, {"since": since})).scalars())
        if days:
            await session.execute(
                text("DELETE FROM order_daily_stats WHERE day = ANY(CAST(:days AS date[]))"), {"days": days}
            )
            on_days = _FEW_DAYS if len(days) <= INDEXED_DAYS else _MANY_DAYS
            await session.execute(text(_ROLLUP_INSERT + _ROLLUP_SELECT.format(**on_days)), {"days": days})
        rebuilt = len(days)
    stmt = insert(RollupWatermark).values(name=WATERMARK, value=started, details={"days_rebuilt": rebuilt})
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[RollupWatermark.name], set_={"value": stmt.excluded.value, "details": stmt.excluded.details}
        )
    )
    return rebuilt


async def refreshed_at(session: AsyncSession) -> dt.datetime | None:
    watermark = await session.get(RollupWatermark, WATERMARK)
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
    if direction is not None and direction not in ("payin", "payout"):
        raise ValidationFailed("direction is payin or payout", field="direction")
    filters = ["day BETWEEN :date_from AND :date_to"]
    params: dict[str, Any] = {"date_from": date_from, "date_to": date_to}
    for name, value in (
        ("store_id", store_id),
        ("trader_id", trader_id),
        ("payment_method_id", payment_method_id),
        ("direction", direction),
        ("currency", currency.upper() if currency else None),
    ):
        if value is not None:
            filters.append(f"{name} = :{name}")
            params[name] = value
    rows = await session.execute(
        text(
            f"SELECT {column}, currency, sum(orders), sum(completed), sum(canceled), sum(disputed), "  # noqa: S608 - fixed column names
            f"sum(turnover), sum(platform_profit), sum(confirm_seconds) FROM order_daily_stats "
            f"WHERE {' AND '.join(filters)} GROUP BY 1, 2 ORDER BY 1, 2"
        ),
        params,
    )
    grouped = [(key, str(cur), _Sums(*(int(v) for v in values))) for key, cur, *values in rows.all()]
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
