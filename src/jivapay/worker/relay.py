"""The outbox relay: sends committed outbox rows to the broker, at least once.

A batch is claimed with a lease in its own short transaction (SKIP LOCKED, so relays
never wait on each other), sent with no lock held, and marked sent in a second
transaction. A crash between send and mark resends after the lease: actors are
idempotent by design.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import uuid

import dramatiq
from dramatiq.errors import ActorNotFound
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.platform.outbox import OutboxRepository
from jivapay.adapters.db.uow import atomic

log = logging.getLogger("jivapay.outbox")

LEASE = dt.timedelta(seconds=60)
RETRY_AFTER = dt.timedelta(seconds=5)
MESSAGE_NAMESPACE = uuid.UUID("6f1b8f5e-3c51-4a4e-9a43-6a1d7b0c9e21")


@dataclasses.dataclass(slots=True)
class RelayResult:
    sent: int = 0
    failed: int = 0


def _message_id(outbox_id: int) -> str:
    return str(uuid.uuid5(MESSAGE_NAMESPACE, f"outbox:{outbox_id}"))


@dataclasses.dataclass(slots=True)
class _Outcome:
    sent: list[int] = dataclasses.field(default_factory=list)
    dead: dict[int, str] = dataclasses.field(default_factory=dict)
    retry: dict[int, str] = dataclasses.field(default_factory=dict)


def _send_batch(broker: dramatiq.Broker, batch: list[tuple[int, str, dict[str, object]]]) -> _Outcome:
    outcome = _Outcome()
    for outbox_id, actor_name, kwargs in batch:
        try:
            actor = broker.get_actor(actor_name)
        except ActorNotFound:
            outcome.dead[outbox_id] = f"unknown actor {actor_name!r}"
            continue
        try:
            message = actor.message_with_options(kwargs=kwargs).copy(message_id=_message_id(outbox_id))
            broker.enqueue(message)
            outcome.sent.append(outbox_id)
        except Exception as exc:  # noqa: BLE001 - broker down: keep the row, retry on a later run
            outcome.retry[outbox_id] = f"{type(exc).__name__}: {exc}"
    return outcome


async def relay_once(
    session_factory: async_sessionmaker[AsyncSession], broker: dramatiq.Broker, batch_size: int
) -> RelayResult:
    async with atomic(session_factory, name="outbox.claim") as session:
        rows = await OutboxRepository(session).claim_batch(batch_size, LEASE)
        batch = [(row.id, row.actor_name, dict(row.kwargs)) for row in rows]
    if not batch:
        return RelayResult()
    # the broker client is blocking; keep the event loop free
    outcome = await asyncio.to_thread(_send_batch, broker, batch)
    async with atomic(session_factory, name="outbox.mark") as session:
        repo = OutboxRepository(session)
        await repo.mark_sent(outcome.sent)
        for outbox_id, error in outcome.retry.items():
            await repo.mark_retry(outbox_id, error, RETRY_AFTER)
        for outbox_id, error in outcome.dead.items():
            await repo.mark_dead(outbox_id, error)
    failed = {**outcome.retry, **outcome.dead}
    if failed:
        log.error(
            "outbox messages not sent",
            extra={"retry": len(outcome.retry), "dead": len(outcome.dead), "first_error": next(iter(failed.values()))},
        )
    log.debug("outbox relayed", extra={"sent": len(outcome.sent)})
    return RelayResult(sent=len(outcome.sent), failed=len(failed))


async def relay_pending(
    session_factory: async_sessionmaker[AsyncSession], broker: dramatiq.Broker, batch_size: int
) -> RelayResult:
    """Relay batches until none is full (or one fails), so a backlog drains in one tick."""
    total = RelayResult()
    while True:
        result = await relay_once(session_factory, broker, batch_size)
        total.sent += result.sent
        total.failed += result.failed
        if result.failed or result.sent < batch_size:
            return total
