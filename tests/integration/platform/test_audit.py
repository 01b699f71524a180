from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import AuditLogEntry
from jivapay.adapters.db.uow import atomic
from jivapay.domain.errors import Conflict
from jivapay.domain.platform.audit import Actor, Target
from jivapay.services.platform.audit import log_action


async def _entries(session_factory: async_sessionmaker[AsyncSession]) -> list[AuditLogEntry]:
    async with session_factory() as session:
        return list((await session.scalars(select(AuditLogEntry).order_by(AuditLogEntry.id))).all())


async def test_action_is_recorded_with_actor_target_details_and_ip(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with atomic(session_factory) as session:
        await log_action(
            session,
            Actor.user(7),
            "requisite.create",
            Target.of("requisite", 12),
            {"card_number": "4276123456781234", "owner_name": "Ivan Petrov", "bank": "sber"},
            ip="203.0.113.9",
        )
    [entry] = await _entries(session_factory)
    assert (entry.actor_type, entry.actor_id, entry.action) == ("user", "7", "requisite.create")
    assert (entry.target_type, entry.target_id) == ("requisite", "12")
    assert entry.details == {"card_number": "4276 **** **** 1234", "owner_name": "Ivan P.", "bank": "sber"}
    assert str(entry.ip) == "203.0.113.9"


async def test_entry_rolls_back_with_the_change_it_describes(session_factory: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(RuntimeError):
        async with atomic(session_factory) as session:
            await log_action(session, Actor.system("test"), "something")
            raise RuntimeError
    assert await _entries(session_factory) == []


async def test_audit_log_is_append_only(session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with atomic(session_factory) as session:
        await log_action(session, Actor.system("test"), "something")
    for statement in ("UPDATE audit_log SET action = 'forged'", "DELETE FROM audit_log"):
        with pytest.raises(Conflict) as info:
            async with atomic(session_factory) as session:
                await session.execute(text(statement))
        assert "append-only" in str(info.value.__cause__)
    [entry] = await _entries(session_factory)
    assert entry.action == "something"
