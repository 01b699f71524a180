"""Requisites and the assigned order (``order_history``): who serves it, at which fixed rate and commissions.

The ledger settles from these columns. The order engine adds the requisite, deadlines,
receipts and the incoming order it came from.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from jivapay.adapters.db.models.base import Base, TimestampMixin


class OrderHistory(TimestampMixin, Base):
    __tablename__ = "order_history"
    __table_args__ = (
        CheckConstraint("direction IN ('payin', 'payout')", name="direction_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("rate > 0", name="rate_positive"),
        CheckConstraint("store_commission >= 0 AND store_commission < 1", name="store_commission_range"),
        CheckConstraint("trader_commission >= 0 AND trader_commission < 1", name="trader_commission_range"),
        Index("ix_order_history_store_id_created_at", "store_id", "created_at"),
        Index("ix_order_history_trader_id_created_at", "trader_id", "created_at"),
        Index("ix_order_history_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    trader_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    direction: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(24))
    currency: Mapped[str] = mapped_column(ForeignKey("fiat_currencies.code"))
    amount: Mapped[int] = mapped_column(BigInteger)  # fiat, minor units
    rate: Mapped[Decimal] = mapped_column(Numeric(20, 8))  # fiat per USDT, fixed at assignment
    store_commission: Mapped[Decimal] = mapped_column(Numeric(8, 6))
    trader_commission: Mapped[Decimal] = mapped_column(Numeric(8, 6))
    payment_method_id: Mapped[int | None] = mapped_column(ForeignKey("payment_methods.id"))
    completed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Requisite(TimestampMixin, Base):
    """A trader's bank details. The number is encrypted at rest; last 4 digits, the card BIN and
    a keyed fingerprint (one requisite per number on the platform) are kept in the clear."""

    __tablename__ = "requisites"
    __table_args__ = (
        CheckConstraint("type IN ('card', 'account', 'phone')", name="type_known"),
        CheckConstraint("direction IN ('payin', 'payout', 'both')", name="direction_known"),
        CheckConstraint("min_amount IS NULL OR max_amount IS NULL OR min_amount <= max_amount", name="amount_range"),
        Index("ix_requisites_trader_id", "trader_id"),
        Index(
            "uq_requisites_fingerprint", "number_fingerprint", unique=True, postgresql_where=text("archived_at IS NULL")
        ),
        Index(
            "ix_requisites_selection",
            "currency",
            "payment_method_id",
            "direction",
            postgresql_where=text("is_active AND archived_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    trader_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    type: Mapped[str] = mapped_column(String(8))
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id"))
    payment_method_id: Mapped[int] = mapped_column(ForeignKey("payment_methods.id"))
    currency: Mapped[str] = mapped_column(ForeignKey("fiat_currencies.code"))
    owner_name: Mapped[str] = mapped_column(String(128))
    number_encrypted: Mapped[str] = mapped_column(Text)
    number_last4: Mapped[str] = mapped_column(String(4))
    number_bin: Mapped[str | None] = mapped_column(String(8))
    number_fingerprint: Mapped[str] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(8))
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=true())
    # limits in fiat minor units; NULL = no limit
    min_amount: Mapped[int | None] = mapped_column(BigInteger)
    max_amount: Mapped[int | None] = mapped_column(BigInteger)
    daily_limit: Mapped[int | None] = mapped_column(BigInteger)
    monthly_limit: Mapped[int | None] = mapped_column(BigInteger)
    orders_per_day: Mapped[int | None] = mapped_column(Integer)
    max_open_orders: Mapped[int | None] = mapped_column(Integer)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    archived_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
