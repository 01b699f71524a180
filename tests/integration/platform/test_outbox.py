"""The transactional outbox: committed jobs reach the actor, rolled-back ones never exist."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import OutboxMessage
from jivapay.adapters.db.platform.outbox import OutboxRepository
from jivapay.adapters.db.uow import atomic
from jivapay.domain.errors import ValidationFailed
from jivapay.services.platform.outbox import enqueue_after_commit
from jivapay.worker.actors.platform import PING_KEY
from jivapay.worker.broker import broker
from jivapay.worker.relay import relay_pending


async def _rows(session_factory: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    async with session_factory() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def _wait_for(redis: Any, key: str, seconds: float = 10) -> str | None:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        value = await redis.get(key)
        if value is not None:
            return str(value)
        await asyncio.sleep(0.05)
    return None


async def test_committed_job_is_relayed_and_runs(
    session_factory: async_sessionmaker[AsyncSession], resources: Any, worker: Any
) -> None:
    async with atomic(session_factory) as session:
        await enqueue_after_commit(session, "system.ping", ping_id="committed")
    result = await relay_pending(session_factory, broker, batch_size=10)
    assert (result.sent, result.failed) == (1, 0)
    assert await _wait_for(resources.redis, PING_KEY.format("committed")) is not None
    [row] = await _rows(session_factory)
    assert row.sent_at is not None
    assert row.attempts == 1


async def test_rolled_back_job_is_never_sent(
    session_factory: async_sessionmaker[AsyncSession], resources: Any, worker: Any
) -> None:
    with pytest.raises(RuntimeError):
        async with atomic(session_factory) as session:
            await enqueue_after_commit(session, "system.ping", ping_id="rolled-back")
            raise RuntimeError
    result = await relay_pending(session_factory, broker, batch_size=10)
    assert (result.sent, result.failed) == (0, 0)
    assert await _rows(session_factory) == []
    assert await _wait_for(resources.redis, PING_KEY.format("rolled-back"), seconds=1) is None


async def test_sent_rows_are_not_sent_again(session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with atomic(session_factory) as session:
        await enqueue_after_commit(session, "system.ping", ping_id="once")
    assert (await relay_pending(session_factory, broker, batch_size=10)).sent == 1
    assert (await relay_pending(session_factory, broker, batch_size=10)).sent == 0


async def test_backlog_drains_in_batches_in_order(
    session_factory: async_sessionmaker[AsyncSession], resources: Any
) -> None:
    async with atomic(session_factory) as session:
        for n in range(25):
            await enqueue_after_commit(session, "system.ping", ping_id=f"b{n}")
    result = await relay_pending(session_factory, broker, batch_size=10)
    assert result.sent == 25
    queued = await resources.redis.lrange("jivapay:default", 0, -1)
    assert len(queued) == 25
    assert all(row.sent_at is not None for row in await _rows(session_factory))


async def test_concurrent_relays_never_claim_the_same_row(session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with atomic(session_factory) as session:
        for n in range(10):
            await enqueue_after_commit(session, "system.ping", ping_id=f"c{n}")
    async with session_factory() as first, session_factory() as second, first.begin():
        claimed_first = await OutboxRepository(first).claim_batch(6, dt.timedelta(seconds=60))
        async with second.begin():
            # the first transaction still holds its rows: SKIP LOCKED hands out the others
            claimed_second = await OutboxRepository(second).claim_batch(6, dt.timedelta(seconds=60))
    first_ids = {row.id for row in claimed_first}
    second_ids = {row.id for row in claimed_second}
    assert len(first_ids) == 6
    assert len(second_ids) == 4
    assert not first_ids & second_ids


async def test_unknown_actor_is_parked_not_retried_forever(session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with atomic(session_factory) as session:
        await enqueue_after_commit(session, "no.such.actor", order_id=1)
    result = await relay_pending(session_factory, broker, batch_size=10)
    assert result.failed == 1
    [row] = await _rows(session_factory)
    assert row.dead_at is not None
    assert row.sent_at is None
    assert "unknown actor" in (row.last_error or "")
    assert (await relay_pending(session_factory, broker, batch_size=10)).failed == 0
    async with session_factory() as session:
        assert await OutboxRepository(session).counts() == {"pending": 0, "dead": 1}


async def test_broker_outage_keeps_the_row_for_later(
    session_factory: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with atomic(session_factory) as session:
        await enqueue_after_commit(session, "system.ping", ping_id="later")

    def refuse(*_: Any, **__: Any) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(broker, "enqueue", refuse)
    assert (await relay_pending(session_factory, broker, batch_size=10)).failed == 1
    [row] = await _rows(session_factory)
    assert row.sent_at is None
    assert row.dead_at is None
    assert "broker down" in (row.last_error or "")
    assert row.claimed_until is not None


async def test_outbox_arguments_must_be_ids(session_factory: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(ValidationFailed):
        async with atomic(session_factory) as session:
            await enqueue_after_commit(session, "system.ping", ping_id={"not": "an id"})  # type: ignore[arg-type]
    assert await _rows(session_factory) == []
