"""Stores, their API keys and signing secrets; idempotency keys; callback events with their attempts."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from jivapay.adapters.db.base import Base, TimestampMixin


class IdempotencyKey(Base):
    """One ``Idempotency-Key`` of a store: the request's hash and, once answered, the response."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        sa.UniqueConstraint("store_id", "key"),
        sa.Index("ix_idempotency_keys_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    store_id: Mapped[int] = mapped_column(sa.ForeignKey("stores.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(128))
    request_hash: Mapped[str] = mapped_column(sa.String(64))  # sha256 of method, path and body
    response_status: Mapped[int | None] = mapped_column(sa.SmallInteger)  # None while in flight
    response_body: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class CallbackEvent(Base):
    """A status change of an order, to be POSTed to the merchant until a 2xx or the schedule ends."""

    __tablename__ = "callback_events"
    __table_args__ = (
        sa.UniqueConstraint("incoming_order_id", "sequence"),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status_known"),
        sa.Index("ix_callback_events_due", "next_attempt_at", postgresql_where=sa.text("status = 'pending'")),
        sa.Index("ix_callback_events_store_id_id", "store_id", "id"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), unique=True, server_default=sa.func.gen_random_uuid()
    )
    store_id: Mapped[int] = mapped_column(sa.ForeignKey("stores.id", ondelete="CASCADE"))
    incoming_order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incoming_orders.id"))  # None: a test event
    sequence: Mapped[int] = mapped_column(sa.Integer)  # per order, from 1
    type: Mapped[str] = mapped_column(sa.String(48))  # payin.completed, payout.failed, test …
    url: Mapped[str] = mapped_column(sa.String(2048))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(sa.String(16), server_default="pending")
    attempts: Mapped[int] = mapped_column(sa.Integer, server_default=sa.text("0"))
    next_attempt_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    last_status_code: Mapped[int | None] = mapped_column(sa.SmallInteger)
    last_error: Mapped[str | None] = mapped_column(sa.String(512))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    delivered_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))


class CallbackAttempt(Base):
    """One POST of an event: what came back and how long it took."""

    __tablename__ = "callback_attempts"
    __table_args__ = (sa.Index("ix_callback_attempts_event_id", "event_id", "id"),)

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("callback_events.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(sa.Integer)
    status_code: Mapped[int | None] = mapped_column(sa.SmallInteger)
    latency_ms: Mapped[int] = mapped_column(sa.Integer)
    response_snippet: Mapped[str | None] = mapped_column(sa.Text)
    error: Mapped[str | None] = mapped_column(sa.String(512))
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class Store(TimestampMixin, Base):
    __tablename__ = "stores"
    __table_args__ = (sa.Index("ix_stores_merchant_id", "merchant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(sa.String(128))
    is_active: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    settings: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=sa.text("'{}'::jsonb"))


class StoreLogo(Base):
    """A store's logo for the payment page (PNG or JPEG, small): kept here, served by its hash
    from ``/pay-assets/logo-<sha>.<ext>`` and cached for a year (a new logo gets a new name)."""

    __tablename__ = "store_logos"

    store_id: Mapped[int] = mapped_column(sa.ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True)
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    content_type: Mapped[str] = mapped_column(sa.String(32))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class StoreApiKey(Base):
    """``jp_live_<prefix>_<secret>``; only HMAC-SHA256(pepper, key) is stored."""

    __tablename__ = "store_api_keys"
    __table_args__ = (sa.Index("ix_store_api_keys_store_id", "store_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(sa.ForeignKey("stores.id", ondelete="CASCADE"))
    prefix: Mapped[str] = mapped_column(sa.String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(64), server_default="")
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    last_used_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # set on rotation: the old key keeps working until then (overlap)
    expires_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))


class StoreSigningSecret(Base):
    """Callback signing secrets, encrypted at rest (they must be readable to sign)."""

    __tablename__ = "store_signing_secrets"
    __table_args__ = (sa.Index("ix_store_signing_secrets_store_id", "store_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(sa.ForeignKey("stores.id", ondelete="CASCADE"))
    secret_encrypted: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[dt.datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    expires_at: Mapped[dt.datetime | None] = mapped_column(sa.DateTime(timezone=True))
