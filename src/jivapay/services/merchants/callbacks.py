"""Signed callbacks to merchants (seed 000 §3.7 callback_service).

Every status change of an order with a callback URL writes one event in the transaction
of the change: ``event_id``, ``type`` (``payin.completed``…), a per-order ``sequence`` and
the order as the status API shows it (the requisite number masked). The table is the
queue: the scheduler sends due events to ``callbacks.deliver``, which POSTs them signed
(``X-JivaPay-Signature: t=<unix>,v1=<hex hmac-sha256 of "<t>.<body>">``, one ``v1`` per
active signing secret). A 2xx ends it; anything else is retried on
CALLBACK_RETRY_SCHEDULE_SECONDS and then ``failed``. Every attempt is logged. No row
lock is held during the HTTP call.

The target is checked when the URL is saved and again at every attempt, and the request
goes to the address that check resolved (services/merchants/callback_targets.py) through the
process's pooled client (adapters/callback_sender.py). What the merchant
sees of an attempt is a short, cleaned excerpt of the reply and an error without our
internals.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import logging
import time
import unicodedata
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.callback_sender import CallbackSender, SendFailed
from jivapay.adapters.db.merchants.callbacks import CallbackRepository
from jivapay.adapters.db.merchants.stores import StoreRepository
from jivapay.adapters.db.models import CallbackAttempt, CallbackEvent
from jivapay.adapters.db.uow import atomic
from jivapay.adapters.resources import get_resources
from jivapay.domain.errors import Conflict, NotFound, ValidationFailed
from jivapay.domain.periods import rfc3339
from jivapay.domain.platform.audit import Actor, Target
from jivapay.services.merchants.callback_targets import UnsafeTarget, check_callback_url, check_target
from jivapay.services.merchants.stores import signing_secrets
from jivapay.services.orders import records as order_records
from jivapay.services.orders.views import view_of
from jivapay.services.platform.audit import log_action
from jivapay.services.platform.config import get_config
from jivapay.settings import Settings, get_settings

log = logging.getLogger("jivapay.callbacks")
TIMEOUT_SECONDS = 10  # the whole attempt, resolution to reply
EXCERPT_CHARS = 256  # of the reply, shown to the merchant
READ_BYTES = 4096  # of the reply, read at all
CLAIM_LEASE = dt.timedelta(seconds=60)  # a claimed event is sent again if no attempt finished by then
USER_AGENT = "JivaPay-Callbacks/1"


def signature(secrets: list[str], body: bytes, timestamp: int) -> str:
    """``t=<unix>,v1=<hmac>[,v1=<hmac>]``: HMAC-SHA256 of ``"<t>.<raw body>"`` per secret."""
    signed = f"{timestamp}.".encode() + body
    macs = [hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest() for secret in secrets]
    return ",".join([f"t={timestamp}", *(f"v1={mac}" for mac in macs)])


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


async def record_event(session: AsyncSession, incoming_id: int, *, event_type: str | None = None) -> None:
    """The order changed (flushed in this transaction): queue its callback, if it has a URL.

    ``event_type`` defaults to ``<direction>.<public status>``.
    """
    await session.flush()
    incoming = await order_records.find_incoming(session, incoming_id, fresh=True)
    if incoming is None or not incoming.callback_url:
        return
    order = await view_of(session, get_settings(), incoming, reveal=False)
    events = CallbackRepository(session)
    sequence = await events.next_sequence(incoming.id)
    event_type = event_type or f"{incoming.direction}.{order['status']}"
    await events.add(_new_event(incoming.store_id, incoming.id, sequence, event_type, incoming.callback_url, order))


def _new_event(
    store_id: int,
    incoming_id: int | None,
    sequence: int,
    event_type: str,
    url: str,
    order: dict[str, Any] | None,
    *,
    subject: str = "order",
) -> CallbackEvent:
    event_id = uuid.uuid4()
    return CallbackEvent(
        event_id=event_id,
        store_id=store_id,
        incoming_order_id=incoming_id,
        sequence=sequence,
        type=event_type,
        url=url,
        payload={
            "event_id": str(event_id),
            "type": event_type,
            "sequence": sequence,
            "created_at": rfc3339(dt.datetime.now(dt.UTC)),
            subject: order,
        },
    )


async def record_store_event(
    session: AsyncSession, store_id: int, event_type: str, subject: str, body: dict[str, Any]
) -> None:
    """An event about the store itself (``deposit.credited``…), to its callback URL if it has one; in
    the caller's transaction, so it is queued exactly when what it reports commits."""
    store = await StoreRepository(session).get(store_id)
    url = (store.settings or {}).get("callback_url") if store else None
    if url:
        await CallbackRepository(session).add(_new_event(store_id, None, 0, event_type, url, body, subject=subject))


async def record_test_event(
    session: AsyncSession, store_id: int, url: str | None, actor: Actor, ip: str | None = None
) -> CallbackEvent:
    store = await StoreRepository(session).get(store_id)
    target = await check_callback_url(get_settings(), url, field="url") or (
        (store.settings or {}).get("callback_url") if store else None
    )
    if not target:
        raise ValidationFailed("no callback URL: pass one or set the store's callback_url", field="url")
    event = await CallbackRepository(session).add(_new_event(store_id, None, 0, "test", target, None))
    await log_action(
        session, actor, "callback.test", Target.of("store", store_id), {"event_id": str(event.event_id)}, ip=ip
    )
    return event


async def redeliver(session: AsyncSession, store_id: int, event_id: uuid.UUID, actor: Actor, ip: str | None) -> None:
    """Send an event again now (delivered or failed ones too); its event_id stays the same."""
    event = await event_of_store(session, store_id, event_id, for_update=True)
    if event.status == "pending" and event.attempts == 0:  # it is about to go anyway
        raise Conflict("The event has not been tried yet", event_id=str(event_id))
    event.status = "pending"
    event.next_attempt_at = dt.datetime.now(dt.UTC)
    await log_action(session, actor, "callback.redeliver", Target.of("callback", str(event_id)), {}, ip=ip)


async def claim_due(session: AsyncSession, limit: int = 200) -> list[int]:
    return await CallbackRepository(session).claim_due(limit, CLAIM_LEASE)


@dataclasses.dataclass(frozen=True, slots=True)
class AttemptResult:
    status_code: int | None
    latency_ms: int
    snippet: str | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def reply_excerpt(raw: bytes) -> str | None:
    """At most EXCERPT_CHARS printable characters of a reply: control, format and separator
    characters (bidi overrides, zero-width ones…) become spaces, runs of spaces one."""
    text = raw.decode("utf-8", errors="replace")
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    text = " ".join(text.split())
    if len(text) > EXCERPT_CHARS:
        text = text[: EXCERPT_CHARS - 1] + "…"
    return text or None


def _failure(exc: UnsafeTarget | SendFailed | TimeoutError) -> str:
    """What the merchant sees of a failed attempt: the exception's class and a fixed message
    (the exception's own text may name our addresses or internals; it goes to our log)."""
    if isinstance(exc, UnsafeTarget):
        return f"UnsafeTarget: {exc}"
    if isinstance(exc, SendFailed):
        return exc.reason
    return f"{type(exc).__name__}: timed out"  # the attempt's own deadline


async def _post(
    sender: CallbackSender, settings: Settings, url: str, body: bytes, secrets: list[str], event_id: str
) -> AttemptResult:
    started = time.perf_counter()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Accept-Encoding": "identity",  # the excerpt is read raw: no decompression of what we drop
        "X-JivaPay-Event-Id": event_id,
        "X-JivaPay-Signature": signature(secrets, body, int(time.time())),
    }
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            target = await check_target(settings, url)
            reply = await sender.post(
                target.url,
                target.pin,
                body=body,
                headers=headers,
                phase_timeout=TIMEOUT_SECONDS,
                read_bytes=READ_BYTES,
            )
        return AttemptResult(
            reply.status_code, int((time.perf_counter() - started) * 1000), reply_excerpt(reply.head), None
        )
    except (UnsafeTarget, SendFailed, TimeoutError) as exc:
        detail = repr(exc.__cause__ if isinstance(exc, SendFailed) else exc)[:1000]
        log.info("callback attempt failed", extra={"event_id": event_id, "detail": detail})
        return AttemptResult(None, int((time.perf_counter() - started) * 1000), None, _failure(exc))


async def deliver(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    event_pk: int,
    *,
    sender: CallbackSender | None = None,
) -> str | None:
    """One attempt of one event; the event's status afterwards (None: nothing to do).

    ``sender`` defaults to the process's pooled one (adapters/resources.py)."""
    async with factory() as session:
        event = await CallbackRepository(session).get(event_pk)
        if event is None or event.status != "pending":
            return None
        secrets = await signing_secrets(session, settings, event.store_id)
        url, body, event_id = event.url, encode(event.payload), str(event.event_id)
    if not secrets:
        result = AttemptResult(None, 0, None, "the store has no signing secret")
    else:
        result = await _post(sender or get_resources().callback_sender, settings, url, body, secrets, event_id)
    schedule = [int(s) for s in await get_config("CALLBACK_RETRY_SCHEDULE_SECONDS", list)]
    async with atomic(factory, name="callbacks.record") as session:
        events = CallbackRepository(session)
        event = await events.lock(event_pk)
        attempt = event.attempts + 1
        events.add_attempt(
            CallbackAttempt(
                event_id=event.id,
                attempt=attempt,
                status_code=result.status_code,
                latency_ms=result.latency_ms,
                response_snippet=result.snippet,
                error=result.error,
            )
        )
        if event.status != "pending":  # finished concurrently (a duplicate delivery): keep that outcome
            return str(event.status)
        values: dict[str, Any] = {
            "attempts": attempt,
            "last_status_code": result.status_code,
            "last_error": result.error,
        }
        if result.ok:
            values |= {"status": "delivered", "delivered_at": dt.datetime.now(dt.UTC)}
        elif attempt <= len(schedule):
            values["next_attempt_at"] = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=schedule[attempt - 1])
        else:
            values["status"] = "failed"
        await events.set_values(event_pk, **values)
    log.info(
        "callback attempt",
        extra={
            "event_id": event_id,
            "attempt": attempt,
            "status_code": result.status_code,
            "latency_ms": result.latency_ms,
            "error": result.error,
            "outcome": values.get("status", "retrying"),
        },
    )
    return str(values.get("status", "pending"))


async def events_of_store(
    session: AsyncSession, store_id: int, *, starting_after: int | None, limit: int, incoming_order_id: int | None
) -> list[CallbackEvent]:
    return await CallbackRepository(session).of_store(
        store_id, starting_after=starting_after, limit=limit, incoming_order_id=incoming_order_id
    )


async def event_of_store(
    session: AsyncSession, store_id: int, event_id: uuid.UUID, *, for_update: bool = False
) -> CallbackEvent:
    event = await CallbackRepository(session).by_event_id(event_id, for_update=for_update)
    if event is None or event.store_id != store_id:
        raise NotFound("Callback event not found", event_id=str(event_id))
    return event


async def attempts_of(session: AsyncSession, event_pk: int) -> list[CallbackAttempt]:
    return await CallbackRepository(session).attempts(event_pk)
