"""Requisite selection (DESIGN "Orders"): one statement, static filters, dynamic limits from
per-requisite counters, priority then round robin, FOR UPDATE SKIP LOCKED LIMIT 1."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db import raw
from jivapay.adapters.db.ledger.commissions import rate_sql
from jivapay.adapters.db.raw import RawStatement

# The dynamic limits of a requisite ``r`` (its counters, ``d`` today's usage row) for ``:amount``:
# checked when choosing a candidate and again once it is locked.
_LIMITS_ALLOW = """(r.max_open_orders IS NULL OR r.open_orders < r.max_open_orders)
      AND (r.orders_per_day IS NULL OR coalesce(d.orders, 0) < r.orders_per_day)
      AND (r.daily_limit IS NULL OR coalesce(d.turnover, 0) + :amount <= r.daily_limit)
      AND (r.monthly_limit IS NULL OR (
            SELECT coalesce(sum(m.turnover), 0) FROM requisite_daily_usage m
            WHERE m.requisite_id = r.id AND m.day >= :month_start) + :amount <= r.monthly_limit)
      AND (:direction <> 'payin' OR NOT EXISTS (
            SELECT 1 FROM requisite_open_amounts o WHERE o.requisite_id = r.id AND o.amount = :amount))"""

_FIND = RawStatement(
    f"""
    SELECT r.id, r.trader_id
    FROM requisites r
    JOIN users u ON u.id = r.trader_id AND u.is_active
    JOIN trader_profiles tp ON tp.user_id = r.trader_id AND tp.in_work
         AND CASE WHEN :direction = 'payin' THEN tp.payin_enabled ELSE tp.payout_enabled END
    LEFT JOIN accounts a ON a.owner_type = 'trader' AND a.owner_id = r.trader_id AND a.currency = 'USDT'
         AND a.kind = 'available' AND a.label = ''
    LEFT JOIN requisite_daily_usage d ON d.requisite_id = r.id AND d.day = :today
    WHERE r.is_active AND r.archived_at IS NULL
      AND r.direction IN (:direction, 'both')
      AND r.currency = :currency
      AND r.payment_method_id = :payment_method_id
      AND (CAST(:bank_id AS integer) IS NULL OR r.bank_id = CAST(:bank_id AS integer))
      AND (r.min_amount IS NULL OR r.min_amount <= :amount)
      AND (r.max_amount IS NULL OR r.max_amount >= :amount)
      AND coalesce(a.balance, 0) >= :collateral
      AND {_LIMITS_ALLOW}
      AND NOT (r.id = ANY(CAST(:exclude AS bigint[])))
      AND NOT (r.trader_id = ANY(CAST(:exclude_traders AS bigint[])))
    ORDER BY r.priority, r.last_used_at NULLS FIRST, r.id
    FOR UPDATE OF r SKIP LOCKED
    LIMIT 1
    """  # noqa: S608 - constants only
)


# Run after the candidate is locked: a new statement sees every committed counter, and no one
# else can change this requisite's counters while we hold its row (they all lock it first).
# The same round trip reads the commission rates the order will carry (the most specific:
# this payment method's, else the owner's general one; NULL when none is set).
_VERIFY = RawStatement(
    f"""
    SELECT
      {rate_sql("store", ":store_id")} AS store_rate,
      {rate_sql("trader", "r.trader_id")} AS trader_rate,
      tp.teamlead_id AS teamlead_id,
      tl.reward_share AS teamlead_share,
      {_LIMITS_ALLOW} AS fits
    FROM requisites r
    LEFT JOIN requisite_daily_usage d ON d.requisite_id = r.id AND d.day = :today
    LEFT JOIN trader_profiles tp ON tp.user_id = r.trader_id
    LEFT JOIN teamlead_profiles tl ON tl.user_id = tp.teamlead_id
    WHERE r.id = :id
    """  # noqa: S608 - constants only
)


# The end of an assignment in one round trip: the three counters it moves, the incoming order
# marked assigned, and the audit entries (data-modifying CTEs all run, referenced or not).
_BOOK = RawStatement(
    """
    WITH taken AS (
        UPDATE requisites SET open_orders = open_orders + 1, last_used_at = now() WHERE id = :id
    ), usage AS (
        INSERT INTO requisite_daily_usage (requisite_id, day, turnover, orders) VALUES (:id, :day, :amount, 1)
        ON CONFLICT (requisite_id, day) DO UPDATE
        SET turnover = requisite_daily_usage.turnover + EXCLUDED.turnover,
            orders = requisite_daily_usage.orders + 1
    ), open_amount AS (
        INSERT INTO requisite_open_amounts (requisite_id, amount, order_id)
        SELECT :id, :amount, :order_id WHERE :payin
    ), assigned AS (
        UPDATE incoming_orders
        SET status = 'assigned', order_id = :order_id, failure_reason = NULL, last_attempt_at = now(),
            updated_at = now()
        WHERE id = :incoming_order_id
    )
    INSERT INTO audit_log (actor_type, actor_id, action, target_type, target_id, details, ip)
    SELECT * FROM unnest(CAST(:actor_type AS varchar[]), CAST(:actor_id AS varchar[]), CAST(:action AS varchar[]),
                         CAST(:target_type AS varchar[]), CAST(:target_id AS varchar[]), CAST(:details AS jsonb[]),
                         CAST(:ip AS inet[]))
    """
)


@dataclasses.dataclass(frozen=True, slots=True)
class Candidate:
    requisite_id: int
    trader_id: int


@dataclasses.dataclass(frozen=True, slots=True)
class Recheck:
    fits: bool  # the limits still hold now that the requisite is locked
    store_rate: Decimal | None  # the commissions set for the order's store and the requisite's trader
    trader_rate: Decimal | None
    teamlead_id: int | None = None  # the trader's teamlead and reward share now (fixed on the order)
    teamlead_share: Decimal | None = None


class SelectionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(
        self,
        *,
        direction: str,
        currency: str,
        payment_method_id: int,
        bank_id: int | None,
        amount: int,
        collateral: int,
        today: dt.date,
        exclude: list[int],
        exclude_traders: list[int] | None = None,
    ) -> Candidate | None:
        row = await raw.fetchrow(
            self.session,
            _FIND,
            {
                "direction": direction,
                "currency": currency,
                "payment_method_id": payment_method_id,
                "bank_id": bank_id,
                "amount": amount,
                "collateral": collateral,
                "today": today,
                "month_start": today.replace(day=1),
                "exclude": exclude,
                "exclude_traders": exclude_traders or [],
            },
        )
        return Candidate(row["id"], row["trader_id"]) if row else None

    async def recheck(
        self,
        requisite_id: int,
        *,
        direction: str,
        amount: int,
        today: dt.date,
        store_id: int,
        payment_method_id: int | None,
    ) -> Recheck:
        row = await raw.fetchrow(
            self.session,
            _VERIFY,
            {
                "id": requisite_id,
                "direction": direction,
                "amount": amount,
                "today": today,
                "month_start": today.replace(day=1),
                "store_id": store_id,
                "payment_method_id": payment_method_id,
            },
        )
        assert row is not None  # the requisite is locked by this transaction
        teamlead_id = row["teamlead_id"]
        return Recheck(
            bool(row["fits"]),
            row["store_rate"],
            row["trader_rate"],
            teamlead_id,
            row["teamlead_share"] if teamlead_id is not None else None,
        )

    async def book(
        self,
        requisite_id: int,
        *,
        amount: int,
        day: dt.date,
        order_id: int,
        payin: bool,
        incoming_order_id: int,
        audit: dict[str, list[Any]],
    ) -> None:
        """Count an assignment (open orders, the day's turnover and orders, the pay-in's open amount),
        mark the incoming order assigned and write ``audit`` (AuditRepository.columns) at once."""
        await raw.execute(
            self.session,
            _BOOK,
            {
                "id": requisite_id,
                "amount": amount,
                "day": day,
                "order_id": order_id,
                "payin": payin,
                "incoming_order_id": incoming_order_id,
                **audit,
            },
        )

    async def give_back(self, requisite_id: int, amount: int, day: dt.date, order_id: int, *, cancelled: bool) -> None:
        """The order closed: it is no longer open; a cancelled or expired one no longer counts as turnover."""
        await self.session.execute(
            text("UPDATE requisites SET open_orders = greatest(open_orders - 1, 0) WHERE id = :id"),
            {"id": requisite_id},
        )
        await self.session.execute(
            text("DELETE FROM requisite_open_amounts WHERE order_id = :order_id"), {"order_id": order_id}
        )
        if cancelled:
            await self.session.execute(
                text(
                    "UPDATE requisite_daily_usage SET turnover = greatest(turnover - :amount, 0), "
                    "orders = greatest(orders - 1, 0) WHERE requisite_id = :id AND day = :day"
                ),
                {"id": requisite_id, "amount": amount, "day": day},
            )
