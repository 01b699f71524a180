"""Users, their role profiles, tokens, login history, stores and their API keys."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import INET, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from jivapay.adapters.db.base import PII, Base, TimestampMixin

ROLES = ("admin", "merchant", "trader", "teamlead", "support")


class User(TimestampMixin, Base):
    __tablename__ = "users"
    __pii_owner__ = "id"
    __table_args__ = (
        sa.CheckConstraint("role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")", name="role_known"),
        sa.CheckConstraint("token_version >= 0", name="token_version_non_negative"),
        sa.Index("uq_users_login", sa.text("lower(login)"), unique=True),
        sa.Index("uq_users_email", sa.text("lower(email)"), unique=True, postgresql_where=sa.text("email IS NOT NULL")),
        sa.Index("ix_users_role_id", "role", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(sa.String(64), info=PII)
    email: Mapped[str | None] = mapped_column(sa.String(254), info=PII)
    full_name: Mapped[str | None] = mapped_column(sa.String(128), info=PII)
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    role: Mapped[str] = mapped_column(sa.String(16))
    is_active: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    token_version: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    last_login_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    anonymized_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))


class MerchantProfile(TimestampMixin, Base):
    __tablename__ = "merchant_profiles"
    __pii_owner__ = "user_id"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    company_name: Mapped[str | None] = mapped_column(sa.String(128), info=PII)
    contact_phone: Mapped[str | None] = mapped_column(sa.String(32), info=PII)


class TraderProfile(TimestampMixin, Base):
    __tablename__ = "trader_profiles"
    __table_args__ = (sa.Index("ix_trader_profiles_teamlead_id", "teamlead_id"),)

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    teamlead_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    # lower value = served first by requisite selection
    traffic_priority: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("100"))
    in_work: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    payin_enabled: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    payout_enabled: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())


class TeamleadProfile(TimestampMixin, Base):
    __tablename__ = "teamlead_profiles"
    __table_args__ = (sa.CheckConstraint("reward_share >= 0 AND reward_share < 1", name="reward_share_range"),)

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    team_name: Mapped[str | None] = mapped_column(sa.String(128))
    # the teamlead's share of the platform's profit on each settled order of their traders
    reward_share: Mapped[Decimal] = mapped_column(sa.Numeric(5, 4), server_default=sa.text("0"))


class SupportProfile(TimestampMixin, Base):
    __tablename__ = "support_profiles"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    queues: Mapped[list[str]] = mapped_column(JSONB, server_default=sa.text("'[]'::jsonb"))


class AdminProfile(TimestampMixin, Base):
    __tablename__ = "admin_profiles"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    can_manage_users: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    can_manage_settings: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    can_manage_requisites: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    can_manage_finances: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    can_manage_permissions: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())


class RefreshToken(Base):
    """Opaque refresh tokens, stored as SHA-256; one family per login, rotated on use."""

    __tablename__ = "refresh_tokens"
    __pii_owner__ = "user_id"
    __table_args__ = (
        sa.Index("ix_refresh_tokens_family_id", "family_id"),
        sa.Index("ix_refresh_tokens_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    family_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    token_version: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    expires_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    ip: Mapped[str | None] = mapped_column(INET, info=PII)
    user_agent: Mapped[str | None] = mapped_column(sa.String(512), info=PII)


class LoginAttempt(Base):
    __tablename__ = "login_history"
    __pii_owner__ = "user_id"
    __table_args__ = (
        sa.Index("ix_login_history_user_id_created_at", "user_id", "created_at"),
        sa.Index("ix_login_history_ip_created_at", "ip", "created_at"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    login: Mapped[str] = mapped_column(sa.String(254), info=PII)
    endpoint_role: Mapped[str] = mapped_column(sa.String(16))
    success: Mapped[bool] = mapped_column(sa.Boolean)
    reason: Mapped[str | None] = mapped_column(sa.String(32))
    ip: Mapped[str | None] = mapped_column(INET, info=PII)
    user_agent: Mapped[str | None] = mapped_column(sa.String(512), info=PII)
    country_code: Mapped[str | None] = mapped_column(sa.String(2), info=PII)
    country: Mapped[str | None] = mapped_column(sa.String(64), info=PII)
    city: Mapped[str | None] = mapped_column(sa.String(128), info=PII)
    new_device: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class TrustedDevice(Base):
    __tablename__ = "trusted_devices"
    __pii_owner__ = "user_id"
    __table_args__ = (sa.Index("ix_trusted_devices_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_agent: Mapped[str | None] = mapped_column(sa.String(512), info=PII)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    last_seen_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
