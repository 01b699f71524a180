"""Platform plumbing: configuration settings, audit log, transactional outbox; reference data
(roles, currencies, banks, payment methods)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import INET, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from jivapay.adapters.db.base import Base, TimestampMixin

CONFIG_VALUE_TYPES = ("int", "decimal", "str", "bool", "json")


class ConfigurationSetting(Base):
    __tablename__ = "configuration_settings"
    __table_args__ = (
        sa.CheckConstraint(
            "value_type IN (" + ", ".join(f"'{t}'" for t in CONFIG_VALUE_TYPES) + ")",
            name="value_type_known",
        ),
    )

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)
    value_type: Mapped[str] = mapped_column(sa.String(16))
    description: Mapped[str] = mapped_column(sa.Text, server_default="")
    updated_at: Mapped[dt.datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), onupdate=sa.func.now()
    )
    updated_by: Mapped[str | None] = mapped_column(sa.String(64))


class AuditLogEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        sa.Index("ix_audit_log_created_at_id", "created_at", "id"),
        sa.Index("ix_audit_log_actor", "actor_type", "actor_id", "created_at"),
        sa.Index("ix_audit_log_target", "target_type", "target_id", "created_at"),
        sa.Index("ix_audit_log_action", "action", "created_at"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    actor_type: Mapped[str] = mapped_column(sa.String(32))
    actor_id: Mapped[str | None] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(64))
    target_type: Mapped[str | None] = mapped_column(sa.String(64))
    target_id: Mapped[str | None] = mapped_column(sa.String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=sa.text("'{}'::jsonb"))
    ip: Mapped[str | None] = mapped_column(INET)


class OutboxMessage(Base):
    """A job to send to the broker once the transaction that wrote it has committed."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.Index("ix_outbox_pending", "id", postgresql_where=sa.text("sent_at IS NULL AND dead_at IS NULL")),
        sa.CheckConstraint("attempts >= 0", name="attempts_non_negative"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    actor_name: Mapped[str] = mapped_column(sa.String(128))
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=sa.text("'{}'::jsonb"))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    # a relay claims a batch by setting a lease, sends after commit, then marks sent
    claimed_until: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    sent_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # set when the row can never be sent (unknown actor); an operator must look at it
    dead_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    last_error: Mapped[str | None] = mapped_column(sa.Text)


class Role(Base):
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(64))


class FiatCurrency(TimestampMixin, Base):
    __tablename__ = "fiat_currencies"
    __table_args__ = (sa.CheckConstraint("minor_units BETWEEN 0 AND 4", name="minor_units_range"),)

    code: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    minor_units: Mapped[int] = mapped_column(sa.SmallInteger, default=2)
    is_active: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())


class CryptoCurrency(TimestampMixin, Base):
    """A token on one network, e.g. USDT on TRC20; amounts in its own ``decimals``."""

    __tablename__ = "crypto_currencies"
    __table_args__ = (sa.UniqueConstraint("code", "network"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16))
    network: Mapped[str] = mapped_column(sa.String(16))
    decimals: Mapped[int] = mapped_column(sa.SmallInteger)
    contract_address: Mapped[str | None] = mapped_column(sa.String(64))
    is_active: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())


class Bank(TimestampMixin, Base):
    __tablename__ = "banks"
    __table_args__ = (sa.UniqueConstraint("code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(128))
    currency_code: Mapped[str] = mapped_column(sa.ForeignKey("fiat_currencies.code"))
    is_active: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())


class PaymentMethod(TimestampMixin, Base):
    __tablename__ = "payment_methods"
    __table_args__ = (sa.UniqueConstraint("code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32))
    name: Mapped[str] = mapped_column(sa.String(128))
    is_active: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
