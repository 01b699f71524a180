"""Users, their role profiles, tokens, login history, stores and their API keys."""

from __future__ import annotations

import datetime as dt
import uuid
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
    false,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import INET, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from jivapay.adapters.db.base import PII, Base, TimestampMixin

ROLES = ("admin", "merchant", "trader", "teamlead", "support")


class User(TimestampMixin, Base):
    __tablename__ = "users"
    __pii_owner__ = "id"
    __table_args__ = (
        CheckConstraint("role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")", name="role_known"),
        CheckConstraint("token_version >= 0", name="token_version_non_negative"),
        Index("uq_users_login", text("lower(login)"), unique=True),
        Index("uq_users_email", text("lower(email)"), unique=True, postgresql_where=text("email IS NOT NULL")),
        Index("ix_users_role_id", "role", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), info=PII)
    email: Mapped[str | None] = mapped_column(String(254), info=PII)
    full_name: Mapped[str | None] = mapped_column(String(128), info=PII)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=true())
    token_version: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    anonymized_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class MerchantProfile(TimestampMixin, Base):
    __tablename__ = "merchant_profiles"
    __pii_owner__ = "user_id"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    company_name: Mapped[str | None] = mapped_column(String(128), info=PII)
    contact_phone: Mapped[str | None] = mapped_column(String(32), info=PII)


class TraderProfile(TimestampMixin, Base):
    __tablename__ = "trader_profiles"
    __table_args__ = (Index("ix_trader_profiles_teamlead_id", "teamlead_id"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    teamlead_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # lower value = served first by requisite selection
    traffic_priority: Mapped[int] = mapped_column(Integer, server_default=text("100"))
    in_work: Mapped[bool] = mapped_column(Boolean, server_default=false())
    payin_enabled: Mapped[bool] = mapped_column(Boolean, server_default=true())
    payout_enabled: Mapped[bool] = mapped_column(Boolean, server_default=true())


class TeamleadProfile(TimestampMixin, Base):
    __tablename__ = "teamlead_profiles"
    __table_args__ = (CheckConstraint("reward_share >= 0 AND reward_share < 1", name="reward_share_range"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    team_name: Mapped[str | None] = mapped_column(String(128))
    # the teamlead's share of the platform's profit on each settled order of their traders
    reward_share: Mapped[Decimal] = mapped_column(Numeric(5, 4), server_default=text("0"))


class SupportProfile(TimestampMixin, Base):
    __tablename__ = "support_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    queues: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))


class AdminProfile(TimestampMixin, Base):
    __tablename__ = "admin_profiles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    can_manage_users: Mapped[bool] = mapped_column(Boolean, server_default=false())
    can_manage_settings: Mapped[bool] = mapped_column(Boolean, server_default=false())
    can_manage_requisites: Mapped[bool] = mapped_column(Boolean, server_default=false())
    can_manage_finances: Mapped[bool] = mapped_column(Boolean, server_default=false())
    can_manage_permissions: Mapped[bool] = mapped_column(Boolean, server_default=false())


class RefreshToken(Base):
    """Opaque refresh tokens, stored as SHA-256; one family per login, rotated on use."""

    __tablename__ = "refresh_tokens"
    __pii_owner__ = "user_id"
    __table_args__ = (Index("ix_refresh_tokens_family_id", "family_id"), Index("ix_refresh_tokens_user_id", "user_id"))

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    token_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ip: Mapped[str | None] = mapped_column(INET, info=PII)
    user_agent: Mapped[str | None] = mapped_column(String(512), info=PII)


class LoginAttempt(Base):
    __tablename__ = "login_history"
    __pii_owner__ = "user_id"
    __table_args__ = (
        Index("ix_login_history_user_id_created_at", "user_id", "created_at"),
        Index("ix_login_history_ip_created_at", "ip", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    login: Mapped[str] = mapped_column(String(254), info=PII)
    endpoint_role: Mapped[str] = mapped_column(String(16))
    success: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(32))
    ip: Mapped[str | None] = mapped_column(INET, info=PII)
    user_agent: Mapped[str | None] = mapped_column(String(512), info=PII)
    country_code: Mapped[str | None] = mapped_column(String(2), info=PII)
    country: Mapped[str | None] = mapped_column(String(64), info=PII)
    city: Mapped[str | None] = mapped_column(String(128), info=PII)
    new_device: Mapped[bool] = mapped_column(Boolean, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TrustedDevice(Base):
    __tablename__ = "trusted_devices"
    __pii_owner__ = "user_id"
    __table_args__ = (Index("ix_trusted_devices_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_agent: Mapped[str | None] = mapped_column(String(512), info=PII)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
