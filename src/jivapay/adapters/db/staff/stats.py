"""``order_daily_stats`` rollups: rebuilt per day from the order history, summed per query."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import RollupWatermark

#: pg_advisory_xact_lock key of the rollup refresh (any constant no other lock uses)
_REFRESH_LOCK = 0x4A495641_53544154  # "JIVASTAT"

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

#: the ``order_daily_stats`` columns a query can group by
GroupColumn = Literal["day", "store_id", "trader_id", "payment_method_id"]


class StatsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_refresh(self) -> None:
        """Wait for any other refresh to end; held until this transaction ends."""
        await self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _REFRESH_LOCK})

    async def now(self) -> dt.datetime:
        """The transaction's start time (``now()``)."""
        started: dt.datetime = (await self.session.execute(text("SELECT now()"))).scalar_one()
        return started

    async def watermark(self, name: str) -> RollupWatermark | None:
        return await self.session.get(RollupWatermark, name)

    async def set_watermark(self, name: str, value: dt.datetime, details: dict[str, Any]) -> None:
        stmt = insert(RollupWatermark).values(name=name, value=value, details=details)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[RollupWatermark.name],
                set_={"value": stmt.excluded.value, "details": stmt.excluded.details},
            )
        )

    async def rebuild_all_days(self) -> int:
        """Replace every rollup row with ones built from the whole order history; returns the days built."""
        await self.session.execute(text("DELETE FROM order_daily_stats"))
        await self.session.execute(text(_ROLLUP_INSERT + _ROLLUP_SELECT.format(**_ALL_DAYS)))
        return int((await self.session.execute(text("SELECT count(DISTINCT day) FROM order_daily_stats"))).scalar_one())

    async def changed_days(self, since: dt.datetime) -> list[dt.date]:
        return list((await self.session.execute(_CHANGED_DAYS, {"since": since})).scalars())

    async def rebuild_days(self, days: list[dt.date], *, day_by_day: bool) -> None:
        """Replace the rollup rows of ``days`` with ones built from those days' orders.

        ``day_by_day`` reads the orders through the (store_id, created_at) index once per store and
        day (cheap for a few days); otherwise in one pass over the history.
        """
        await self.session.execute(
            text("DELETE FROM order_daily_stats WHERE day = ANY(CAST(:days AS date[]))"), {"days": days}
        )
        on_days = _FEW_DAYS if day_by_day else _MANY_DAYS
        await self.session.execute(text(_ROLLUP_INSERT + _ROLLUP_SELECT.format(**on_days)), {"days": days})

    async def sums(
        self,
        column: GroupColumn,
        *,
        date_from: dt.date,
        date_to: dt.date,
        store_id: int | None,
        trader_id: int | None,
        payment_method_id: int | None,
        direction: str | None,
        currency: str | None,
    ) -> list[tuple[Any, str, list[int]]]:
        """(``column`` value, currency, [orders, completed, canceled, disputed, turnover, platform_profit,
        confirm_seconds]) summed over the rollup rows of [date_from, date_to] that match the given filters,
        ordered by ``column`` and currency."""
        filters = ["day BETWEEN :date_from AND :date_to"]
        params: dict[str, Any] = {"date_from": date_from, "date_to": date_to}
        for name, value in (
            ("store_id", store_id),
            ("trader_id", trader_id),
            ("payment_method_id", payment_method_id),
            ("direction", direction),
            ("currency", currency),
        ):
            if value is not None:
                filters.append(f"{name} = :{name}")
                params[name] = value
        rows = await self.session.execute(
            text(
                f"SELECT {column}, currency, sum(orders), sum(completed), sum(canceled), sum(disputed), "  # noqa: S608 - fixed column names
                f"sum(turnover), sum(platform_profit), sum(confirm_seconds) FROM order_daily_stats "
                f"WHERE {' AND '.join(filters)} GROUP BY 1, 2 ORDER BY 1, 2"
            ),
            params,
        )
        return [(key, str(cur), [int(v) for v in values]) for key, cur, *values in rows.all()]
