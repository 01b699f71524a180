"""The double-entry ledger: accounts, transactions, append-only entries, holds.

Amounts are integers in minor units of the account's currency (USDT: 6 decimals, fiat:
the currency's minor units). A balance never goes below zero except on external
(counterparty) accounts — a CHECK constraint, not only Python.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from jivapay.adapters.db.base import Base, TimestampMixin

ACCOUNT_KINDS = ("available", "frozen", "fiat", "profit", "external")
OWNER_TYPES = ("store", "trader", "teamlead", "platform", "external", "adjustment")
COMMISSION_OWNER_TYPES = ("store", "trader")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        sa.UniqueConstraint("owner_type", "owner_id", "currency", "kind", "label"),
        sa.CheckConstraint("kind = 'external' OR balance >= 0", name="balance_non_negative"),
        sa.CheckConstraint(_in("kind", ACCOUNT_KINDS), name="kind_known"),
        sa.CheckConstraint(_in("owner_type", OWNER_TYPES), name="owner_type_known"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    owner_type: Mapped[str] = mapped_column(sa.String(16))
    owner_id: Mapped[int] = mapped_column(sa.BigInteger, server_default=sa.text("0"))  # 0 for platform/external
    currency: Mapped[str] = mapped_column(sa.String(8))
    kind: Mapped[str] = mapped_column(sa.String(16))
    label: Mapped[str] = mapped_column(sa.String(32), server_default="")  # e.g. network, "payin"/"payout"
    balance: Mapped[int] = mapped_column(sa.BigInteger, server_default=sa.text("0"))
    version: Mapped[int] = mapped_column(sa.BigInteger, server_default=sa.text("0"))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class LedgerTransaction(Base):
    __tablename__ = "ledger_transactions"
    __table_args__ = (
        sa.Index("ix_ledger_transactions_order_id", "order_id"),
        sa.Index("ix_ledger_transactions_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(sa.String(128), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    order_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    legs_hash: Mapped[str] = mapped_column(sa.String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=sa.text("'{}'::jsonb"))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class LedgerEntry(Base):
    """Append-only (a trigger rejects UPDATE/DELETE); corrections are reversing transactions."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        sa.Index("ix_ledger_entries_account_id_id", "account_id", "id"),
        sa.Index("ix_ledger_entries_transaction_id", "transaction_id"),
        sa.CheckConstraint("amount <> 0", name="amount_non_zero"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(sa.ForeignKey("ledger_transactions.id"))
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"))
    currency: Mapped[str] = mapped_column(sa.String(8))
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    balance_after: Mapped[int] = mapped_column(sa.BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class Hold(Base):
    """Frozen funds for one reference (an order, a withdrawal); resolves exactly once."""

    __tablename__ = "holds"
    __table_args__ = (
        sa.CheckConstraint("status IN ('active', 'captured', 'released')", name="status_known"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.Index(
            "ix_holds_frozen_account_id_active", "frozen_account_id", postgresql_where=sa.text("status = 'active'")
        ),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(128), unique=True)
    available_account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"))
    frozen_account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"))
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    status: Mapped[str] = mapped_column(sa.String(16), server_default="active")
    freeze_transaction_id: Mapped[int] = mapped_column(sa.ForeignKey("ledger_transactions.id"))
    resolve_transaction_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ledger_transactions.id"))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))


class Commission(TimestampMixin, Base):
    """What a store pays or a trader earns (a fraction of the amount) per direction, optionally per
    payment method; keyed by owner as accounts are (``owner_type``, ``owner_id``)."""

    __tablename__ = "commissions"
    __table_args__ = (
        sa.Index(
            "uq_commissions_scope",
            "owner_type",
            "owner_id",
            "direction",
            sa.text("coalesce(payment_method_id, 0)"),
            unique=True,
        ),
        sa.CheckConstraint(_in("owner_type", COMMISSION_OWNER_TYPES), name="owner_type_known"),
        sa.CheckConstraint("direction IN ('payin', 'payout')", name="direction_known"),
        sa.CheckConstraint("rate >= 0 AND rate < 1", name="rate_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_type: Mapped[str] = mapped_column(sa.String(16))
    owner_id: Mapped[int] = mapped_column()
    direction: Mapped[str] = mapped_column(sa.String(8))
    payment_method_id: Mapped[int | None] = mapped_column(sa.ForeignKey("payment_methods.id"))
    rate: Mapped[Decimal] = mapped_column(sa.Numeric(8, 6))
    # The owner must exist and its rates go with it: one foreign key per kind of owner, on a
    # column derived from the key (never written).
    store_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("stores.id", ondelete="CASCADE"),
        sa.Computed("CASE WHEN owner_type = 'store' THEN owner_id ELSE NULL END", persisted=True),
    )
    trader_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        sa.Computed("CASE WHEN owner_type = 'trader' THEN owner_id ELSE NULL END", persisted=True),
    )


class ExchangeRate(Base):
    """USDT ↔ fiat: how many units of ``currency`` one USDT buys."""

    __tablename__ = "exchange_rates"

    currency: Mapped[str] = mapped_column(sa.ForeignKey("fiat_currencies.code"), primary_key=True)
    rate: Mapped[Decimal] = mapped_column(sa.Numeric(20, 8))
    source: Mapped[str] = mapped_column(sa.String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), onupdate=sa.func.now()
    )
    updated_by: Mapped[str | None] = mapped_column(sa.String(64))
    __table_args__ = (sa.CheckConstraint("rate > 0", name="rate_positive"),)


class SettledOrder(Base):
    """Which orders were settled, by which transaction (idempotency by order)."""

    __tablename__ = "order_settlements"
    __table_args__ = (sa.Index("ix_order_settlements_created_at", "created_at"),)

    order_id: Mapped[int] = mapped_column(sa.ForeignKey("order_history.id"), primary_key=True)
    direction: Mapped[str] = mapped_column(sa.String(8))
    transaction_id: Mapped[int] = mapped_column(sa.ForeignKey("ledger_transactions.id"))
    platform_profit: Mapped[int] = mapped_column(sa.BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
