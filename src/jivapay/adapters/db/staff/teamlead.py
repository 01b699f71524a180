from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import TraderProfile

# one statement for the whole team: balances by join, open orders and today's turnover by
# correlated subqueries over the (trader_id, created_at) index — no query per trader
_TEAM = text(
    """
    SELECT u.id, u.login, u.is_active, tp.in_work, tp.traffic_priority,
           coalesce(av.balance, 0) AS available, coalesce(fr.balance, 0) AS frozen,
           (SELECT count(*) FROM order_history o
             WHERE o.trader_id = u.id AND o.status = ANY(CAST(:open AS varchar[]))) AS open_orders,
           today.currencies, today.amounts
    FROM trader_profiles tp
    JOIN users u ON u.id = tp.user_id
    LEFT JOIN accounts av ON av.owner_type = 'trader' AND av.owner_id = u.id AND av.currency = :usdt
                         AND av.kind = 'available' AND av.label = ''
    LEFT JOIN accounts fr ON fr.owner_type = 'trader' AND fr.owner_id = u.id AND fr.currency = :usdt
                         AND fr.kind = 'frozen' AND fr.label = ''
    LEFT JOIN LATERAL (
        SELECT array_agg(d.currency ORDER BY d.currency) AS currencies,
               array_agg(d.amount ORDER BY d.currency) AS amounts
        FROM (SELECT o.currency, sum(o.amount)::bigint AS amount FROM order_history o
              WHERE o.trader_id = u.id AND o.status = 'completed'
                AND o.completed_at >= :day_start AND o.completed_at < :day_end
              GROUP BY o.currency) d
    ) today ON true
    WHERE tp.teamlead_id = :teamlead_id AND (CAST(:trader_id AS integer) IS NULL OR tp.user_id = :trader_id)
    ORDER BY u.id
    """
)

# by UTC creation day, direction and currency (the ix_order_history_trader_id_created_at range);
# an order counts as disputed if it is or has a dispute row (as in the statistics rollups)
_STATS = text(
    """
    SELECT (o.created_at AT TIME ZONE 'UTC')::date AS day, o.direction, o.currency,
           count(*) AS orders,
           count(*) FILTER (WHERE o.status = 'completed') AS completed,
           coalesce(sum(o.amount) FILTER (WHERE o.status = 'completed'), 0)::bigint AS turnover,
           count(*) FILTER (WHERE o.status = 'completed' AND o.completed_at IS NOT NULL) AS timed,
           coalesce(sum(floor(EXTRACT(EPOCH FROM o.completed_at - o.created_at)))
                    FILTER (WHERE o.status = 'completed' AND o.completed_at IS NOT NULL), 0)::bigint AS seconds,
           count(*) FILTER (
               WHERE o.status = 'disputed' OR EXISTS (SELECT 1 FROM order_disputes d WHERE d.order_id = o.id)
           ) AS disputes
    FROM order_history o
    WHERE o.trader_id = :trader_id AND o.created_at >= :start AND o.created_at < :end
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    """
)


class TeamleadRepository:
    """The team's reads are filtered by ``teamlead_id`` (another team's trader does not exist);
    ``order_stats`` is by trader alone — the service checks ``on_team`` before calling it."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def team(
        self,
        teamlead_id: int,
        trader_id: int | None,
        *,
        open_statuses: Sequence[str],
        balance_currency: str,
        day_start: dt.datetime,
        day_end: dt.datetime,
    ) -> Sequence[Any]:
        """The team's traders by id (only ``trader_id`` when given): login, flags, ``balance_currency``
        available/frozen balances, orders in ``open_statuses``, and the per-currency turnover of orders
        completed in [day_start, day_end) as parallel ``currencies``/``amounts`` arrays (NULL when none)."""
        return (
            await self.session.execute(
                _TEAM,
                {
                    "teamlead_id": teamlead_id,
                    "trader_id": trader_id,
                    "open": list(open_statuses),
                    "usdt": balance_currency,
                    "day_start": day_start,
                    "day_end": day_end,
                },
            )
        ).all()

    async def lock_team_profile(self, teamlead_id: int, trader_id: int) -> TraderProfile | None:
        """The trader's profile, locked and freshly read; None unless the trader is on this team."""
        stmt = (
            select(TraderProfile)
            .where(TraderProfile.user_id == trader_id, TraderProfile.teamlead_id == teamlead_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def on_team(self, teamlead_id: int, trader_id: int) -> bool:
        stmt = select(TraderProfile.user_id).where(
            TraderProfile.user_id == trader_id, TraderProfile.teamlead_id == teamlead_id
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def order_stats(self, trader_id: int, start: dt.datetime, end: dt.datetime) -> Sequence[Any]:
        """The trader's orders created in [start, end), one row per (UTC day, direction, currency)."""
        return (
            await self.session.execute(
                _STATS,
                {"trader_id": trader_id, "start": start, "end": end},
            )
        ).all()
