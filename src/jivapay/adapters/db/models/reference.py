"""Reference data: roles, currencies, banks, payment methods."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    SmallInteger,
    String,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from jivapay.adapters.db.models.base import Base, TimestampMixin


class Role(Base):
    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))


class FiatCurrency(TimestampMixin, Base):
    __tablename__ = "fiat_currencies"
    __table_args__ = (CheckConstraint("minor_units BETWEEN 0 AND 4", name="minor_units_range"),)

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    minor_units: Mapped[int] = mapped_column(SmallInteger, default=2)
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=true())


class CryptoCurrency(TimestampMixin, Base):
    """A token on one network, e.g. USDT on TRC20; amounts in its own ``decimals``."""

    __tablename__ = "crypto_currencies"
    __table_args__ = (UniqueConstraint("code", "network"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16))
    network: Mapped[str] = mapped_column(String(16))
    decimals: Mapped[int] = mapped_column(SmallInteger)
    contract_address: Mapped[str | None] = mapped_column(String(64))
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=true())


class Bank(TimestampMixin, Base):
    __tablename__ = "banks"
    __table_args__ = (UniqueConstraint("code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(128))
    currency_code: Mapped[str] = mapped_column(ForeignKey("fiat_currencies.code"))
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=true())


class PaymentMethod(TimestampMixin, Base):
    __tablename__ = "payment_methods"
    __table_args__ = (UniqueConstraint("code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(128))
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=true())
