"""The merchant integration's state: idempotency keys and callback events with their attempts."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from jivapay.adapters.db.models.base import Base


class IdempotencyKey(Base):
    """One ``Idempotency-Key`` of a store: the request's hash and, once answered, the response."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("store_id", "key"),
        Index("ix_idempotency_keys_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))  # sha256 of method, path and body
    response_status: Mapped[int | None] = mapped_column(SmallInteger)  # None while in flight
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CallbackEvent(Base):
    """A status change of an order, to be POSTed to the merchant until a 2xx or the schedule ends."""

    __tablename__ = "callback_events"
    __table_args__ = (
        UniqueConstraint("incoming_order_id", "sequence"),
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status_known"),
        Index("ix_callback_events_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
        Index("ix_callback_events_store_id_id", "store_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True, server_default=func.gen_random_uuid())
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    incoming_order_id: Mapped[int | None] = mapped_column(ForeignKey("incoming_orders.id"))  # None: a test event
    sequence: Mapped[int] = mapped_column(Integer)  # per order, from 1
    type: Mapped[str] = mapped_column(String(48))  # payin.completed, payout.failed, test …
    url: Mapped[str] = mapped_column(String(2048))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_status_code: Mapped[int | None] = mapped_column(SmallInteger)
    last_error: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class CallbackAttempt(Base):
    """One POST of an event: what came back and how long it took."""

    __tablename__ = "callback_attempts"
    __table_args__ = (Index("ix_callback_attempts_event_id", "event_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("callback_events.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(SmallInteger)
    latency_ms: Mapped[int] = mapped_column(Integer)
    response_snippet: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
