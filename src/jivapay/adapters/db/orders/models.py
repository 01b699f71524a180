"""Requisites, the assigned order (``order_history``) with its status changes, receipts and disputes.

The ledger settles from the order's columns: who serves it, at which fixed rate and commissions.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import INET, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from jivapay.adapters.db.base import PII, Base, TimestampMixin
from jivapay.domain.orders.status import new_order_reference

INCOMING_STATUSES = ("new", "retrying", "assigned", "failed", "rejected", "review")
DISPUTE_PRIORITIES = ("high", "normal", "low")


class IncomingOrder(TimestampMixin, Base):
    """What a merchant asked for; the processor turns it into an assigned order (or fails it)."""

    __tablename__ = "incoming_orders"
    __table_args__ = (
        sa.UniqueConstraint("store_id", "merchant_order_id"),
        sa.CheckConstraint("direction IN ('payin', 'payout')", name="direction_known"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in INCOMING_STATUSES) + ")", name="status_known"),
        sa.Index(
            "ix_incoming_orders_due", "next_attempt_at", postgresql_where=sa.text("status IN ('new', 'retrying')")
        ),
        sa.Index("ix_incoming_orders_client_id_status", "client_id", "status"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(32), unique=True, default=new_order_reference)
    store_id: Mapped[int] = mapped_column(sa.ForeignKey("stores.id"))
    direction: Mapped[str] = mapped_column(sa.String(8))
    amount: Mapped[int] = mapped_column(sa.BigInteger)  # fiat minor units, as requested
    currency: Mapped[str] = mapped_column(sa.ForeignKey("fiat_currencies.code"))
    payment_method_id: Mapped[int] = mapped_column(sa.ForeignKey("payment_methods.id"))
    bank_id: Mapped[int | None] = mapped_column(sa.ForeignKey("banks.id"))
    merchant_order_id: Mapped[str] = mapped_column(sa.String(128))
    client_id: Mapped[str | None] = mapped_column(sa.String(128))
    client_ip: Mapped[str | None] = mapped_column(INET)
    client_card_bin: Mapped[str | None] = mapped_column(sa.String(8))
    callback_url: Mapped[str | None] = mapped_column(sa.String(2048))
    return_url: Mapped[str | None] = mapped_column(sa.String(2048))
    status: Mapped[str] = mapped_column(sa.String(16), server_default="new")
    retry_count: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    next_attempt_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    failure_reason: Mapped[str | None] = mapped_column(sa.String(256))
    order_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    # a pay-out's recipient (number, name, bank) as encrypted JSON; the trader sees it to pay
    recipient_encrypted: Mapped[str | None] = mapped_column(sa.Text)
    recipient_last4: Mapped[str | None] = mapped_column(sa.String(4))
    fraud_cleared_by: Mapped[str | None] = mapped_column(sa.String(64))  # support approved it after a fraud review
    # a pay-out waiting for a trader: the hold on the store's USDT (taken at init, or moved here
    # from a declined order's hold), released when it is assigned, fails or is rejected
    store_hold_reference: Mapped[str | None] = mapped_column(sa.String(128))


class RequisiteDailyUsage(Base):
    """Per requisite and day: turnover and orders, maintained with each assignment (and its undo)."""

    __tablename__ = "requisite_daily_usage"

    requisite_id: Mapped[int] = mapped_column(sa.ForeignKey("requisites.id"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    turnover: Mapped[int] = mapped_column(sa.BigInteger, server_default=sa.text("0"))
    orders: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    __table_args__ = (sa.CheckConstraint("turnover >= 0 AND orders >= 0", name="non_negative"),)


class RequisiteOpenAmount(Base):
    """An open pay-in's exact amount on a requisite: two open pay-ins never share one."""

    __tablename__ = "requisite_open_amounts"
    # the selection asks "which requisites hold this amount?"; PostgreSQL answers it for all
    # candidates at once (a hashed subplan), which without this index reads every open amount
    __table_args__ = (sa.Index("ix_requisite_open_amounts_amount", "amount"),)

    requisite_id: Mapped[int] = mapped_column(sa.ForeignKey("requisites.id"), primary_key=True)
    amount: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.BigInteger, unique=True)


class OrderHistory(TimestampMixin, Base):
    __tablename__ = "order_history"
    __table_args__ = (
        sa.CheckConstraint("direction IN ('payin', 'payout')", name="direction_known"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("rate > 0", name="rate_positive"),
        sa.CheckConstraint("store_commission >= 0 AND store_commission < 1", name="store_commission_range"),
        sa.CheckConstraint("trader_commission >= 0 AND trader_commission < 1", name="trader_commission_range"),
        sa.CheckConstraint("teamlead_share >= 0 AND teamlead_share < 1", name="teamlead_share_range"),
        sa.Index("ix_order_history_store_id_created_at", "store_id", "created_at"),
        sa.Index("ix_order_history_trader_id_created_at", "trader_id", "created_at"),
        sa.Index("ix_order_history_status", "status"),
        sa.Index("ix_order_history_updated_at", "updated_at"),
        sa.Index("ix_order_history_public_id", "public_id"),
        # the order's public reference is its incoming order's; a declined pay-out keeps it beside its successor
        sa.Index(
            "uq_order_history_public_id_live",
            "public_id",
            unique=True,
            postgresql_where=sa.text("status <> 'declined'"),
        ),
        # one live order per incoming order; declined ones stay as history beside their successor
        sa.Index(
            "uq_order_history_incoming_order_id_live",
            "incoming_order_id",
            unique=True,
            postgresql_where=sa.text("status <> 'declined'"),
        ),
        # the scheduler's reconciliation: completed orders whose settlement has not been posted
        sa.Index(
            "ix_order_history_unsettled",
            "completed_at",
            postgresql_where=sa.text("status = 'completed' AND settled_at IS NULL AND settlement_error IS NULL"),
        ),
        # a trader's turnover completed today (the teamlead's team list)
        sa.Index(
            "ix_order_history_trader_id_completed_at",
            "trader_id",
            "completed_at",
            postgresql_where=sa.text("status = 'completed'"),
        ),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    public_id: Mapped[str] = mapped_column(sa.String(32), default=new_order_reference)
    store_id: Mapped[int] = mapped_column(sa.ForeignKey("stores.id"))
    trader_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    direction: Mapped[str] = mapped_column(sa.String(8))
    status: Mapped[str] = mapped_column(sa.String(24))
    currency: Mapped[str] = mapped_column(sa.ForeignKey("fiat_currencies.code"))
    amount: Mapped[int] = mapped_column(sa.BigInteger)  # fiat, minor units
    rate: Mapped[Decimal] = mapped_column(sa.Numeric(20, 8))  # fiat per USDT, fixed at assignment
    store_commission: Mapped[Decimal] = mapped_column(sa.Numeric(8, 6))
    trader_commission: Mapped[Decimal] = mapped_column(sa.Numeric(8, 6))
    payment_method_id: Mapped[int | None] = mapped_column(sa.ForeignKey("payment_methods.id"))
    completed_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    incoming_order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incoming_orders.id"))
    requisite_id: Mapped[int | None] = mapped_column(sa.ForeignKey("requisites.id"))
    requested_amount: Mapped[int | None] = mapped_column(sa.BigInteger)  # before a shift to keep amounts unique
    expires_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # the trader's teamlead and reward share when the order was assigned (fixed, like the rate)
    teamlead_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    teamlead_share: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 4))
    settled_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # why settlement could not be posted (a missing or resolved hold): support sees it, nothing retries it
    settlement_error: Mapped[str | None] = mapped_column(sa.Text)


class Requisite(TimestampMixin, Base):
    """A trader's bank details. The number is encrypted at rest; last 4 digits, the card BIN and
    a keyed fingerprint (one requisite per number on the platform) are kept in the clear."""

    __tablename__ = "requisites"
    __pii_owner__ = "trader_id"
    __table_args__ = (
        sa.CheckConstraint("type IN ('card', 'account', 'phone')", name="type_known"),
        sa.CheckConstraint("direction IN ('payin', 'payout', 'both')", name="direction_known"),
        sa.CheckConstraint("min_amount IS NULL OR max_amount IS NULL OR min_amount <= max_amount", name="amount_range"),
        sa.CheckConstraint("open_orders >= 0", name="open_orders_non_negative"),
        sa.Index("ix_requisites_trader_id", "trader_id"),
        sa.Index(
            "uq_requisites_fingerprint",
            "number_fingerprint",
            unique=True,
            postgresql_where=sa.text("archived_at IS NULL"),
        ),
        sa.Index(
            "ix_requisites_selection",
            "currency",
            "payment_method_id",
            "direction",
            postgresql_where=sa.text("is_active AND archived_at IS NULL"),
        ),
        # selection walks this index in its ORDER BY and stops at the first fit (LIMIT 1)
        sa.Index(
            "ix_requisites_pick",
            "currency",
            "payment_method_id",
            "priority",
            sa.text("last_used_at ASC NULLS FIRST"),
            "id",
            postgresql_where=sa.text("is_active AND archived_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    trader_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    type: Mapped[str] = mapped_column(sa.String(8))
    bank_id: Mapped[int] = mapped_column(sa.ForeignKey("banks.id"))
    payment_method_id: Mapped[int] = mapped_column(sa.ForeignKey("payment_methods.id"))
    currency: Mapped[str] = mapped_column(sa.ForeignKey("fiat_currencies.code"))
    owner_name: Mapped[str] = mapped_column(sa.String(128), info=PII)
    number_encrypted: Mapped[str] = mapped_column(sa.Text, info=PII)
    number_last4: Mapped[str] = mapped_column(sa.String(4))
    number_bin: Mapped[str | None] = mapped_column(sa.String(8), info=PII)
    number_fingerprint: Mapped[str] = mapped_column(sa.String(64))
    direction: Mapped[str] = mapped_column(sa.String(8))
    is_active: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    # limits in fiat minor units; NULL = no limit
    min_amount: Mapped[int | None] = mapped_column(sa.BigInteger)
    max_amount: Mapped[int | None] = mapped_column(sa.BigInteger)
    daily_limit: Mapped[int | None] = mapped_column(sa.BigInteger)
    monthly_limit: Mapped[int | None] = mapped_column(sa.BigInteger)
    orders_per_day: Mapped[int | None] = mapped_column(sa.Integer)
    max_open_orders: Mapped[int | None] = mapped_column(sa.Integer)
    open_orders: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    # the trader's traffic priority, copied here so selection can walk one index in order
    priority: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("100"))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    archived_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))


class OrderStatusChange(Base):
    """Every status change of an order: who, when, why (the merchant's order detail shows it)."""

    __tablename__ = "order_status_history"
    __table_args__ = (sa.Index("ix_order_status_history_order_id_id", "order_id", "id"),)

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("order_history.id"))
    from_status: Mapped[str | None] = mapped_column(sa.String(24))
    to_status: Mapped[str] = mapped_column(sa.String(24))
    party: Mapped[str] = mapped_column(sa.String(16))
    actor: Mapped[str] = mapped_column(sa.String(64))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class Receipt(Base):
    """A payment receipt for an order; the file lives in object storage under ``object_key``."""

    __tablename__ = "receipts"
    __table_args__ = (sa.Index("ix_receipts_order_id", "order_id"), sa.Index("ix_receipts_sha256", "sha256"))

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("order_history.id"))
    party: Mapped[str] = mapped_column(sa.String(16))
    uploaded_by: Mapped[str] = mapped_column(sa.String(64))
    object_key: Mapped[str] = mapped_column(sa.String(256), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int] = mapped_column(sa.Integer)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class OrderDispute(Base):
    """An order's dispute: who opened it, its priority and SLA deadline, how support resolved it.

    One per order: a disputed order ends completed or canceled, never disputed again.
    """

    __tablename__ = "order_disputes"
    __table_args__ = (
        sa.CheckConstraint("priority IN ('high', 'normal', 'low')", name="priority_known"),
        sa.CheckConstraint("resolution IS NULL OR resolution IN ('completed', 'canceled')", name="resolution_known"),
        sa.Index("ix_order_disputes_open", "sla_deadline", postgresql_where=sa.text("resolved_at IS NULL")),
    )

    order_id: Mapped[int] = mapped_column(sa.ForeignKey("order_history.id"), primary_key=True)
    priority: Mapped[str] = mapped_column(sa.String(8), server_default="normal")
    party: Mapped[str] = mapped_column(sa.String(16))  # who opened it: customer, merchant, support, system
    opened_by: Mapped[str] = mapped_column(sa.String(64))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    opened_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    sla_deadline: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    resolution: Mapped[str | None] = mapped_column(sa.String(16))
    resolved_by: Mapped[str | None] = mapped_column(sa.String(64))
    resolution_comment: Mapped[str | None] = mapped_column(sa.Text)
    evidence: Mapped[list[int]] = mapped_column(JSONB, server_default=sa.text("'[]'::jsonb"))  # receipt ids
