"""What staff work with: notes on orders, statistics rollups."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from jivapay.adapters.db.base import Base


class OrderNote(Base):
    """A staff note on an order (never shown to merchants or traders)."""

    __tablename__ = "order_notes"
    __table_args__ = (sa.Index("ix_order_notes_order_id", "order_id"),)

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("order_history.id"))
    author: Mapped[str] = mapped_column(sa.String(64))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class OrderDailyStats(Base):
    """Orders per day (UTC, by creation) and store, trader, payment method, direction, currency.

    Rebuilt for the days whose orders changed (services/staff/stats.py), so ``/admin/stats`` sums a
    few thousand rows instead of scanning the order history. ``payment_method_id`` 0 = none.
    """

    __tablename__ = "order_daily_stats"
    __table_args__ = (
        sa.UniqueConstraint("day", "store_id", "trader_id", "payment_method_id", "direction", "currency"),
        sa.Index("ix_order_daily_stats_trader_id_day", "trader_id", "day"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    day: Mapped[dt.date] = mapped_column(sa.Date)
    store_id: Mapped[int] = mapped_column(sa.Integer)
    trader_id: Mapped[int] = mapped_column(sa.Integer)
    payment_method_id: Mapped[int] = mapped_column(sa.Integer)
    direction: Mapped[str] = mapped_column(sa.String(8))
    currency: Mapped[str] = mapped_column(sa.String(8))
    orders: Mapped[int] = mapped_column(sa.Integer)  # assigned
    completed: Mapped[int] = mapped_column(sa.Integer)
    canceled: Mapped[int] = mapped_column(sa.Integer)  # canceled, expired or declined
    disputed: Mapped[int] = mapped_column(sa.Integer)  # orders that had a dispute
    turnover: Mapped[int] = mapped_column(sa.BigInteger)  # completed, fiat minor units
    platform_profit: Mapped[int] = mapped_column(sa.BigInteger)  # settled, USDT units
    confirm_seconds: Mapped[int] = mapped_column(sa.BigInteger)  # sum over completed of completed_at - created_at


class RollupWatermark(Base):
    """How far a rollup has been brought up to date (the changes it has seen)."""

    __tablename__ = "rollup_watermarks"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=sa.text("'{}'::jsonb"))
