"""The assigned order (``order_history``): who serves it, at which fixed rate and commissions.

The ledger settles from these columns. The order engine adds the requisite, deadlines,
receipts and the incoming order it came from.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, Numeric, String
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
