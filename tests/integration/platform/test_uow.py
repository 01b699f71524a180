from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import Role
from jivapay.adapters.db.uow import atomic, on_commit
from jivapay.adapters.resources import Resources
from jivapay.domain.errors import Conflict, DatabaseError, NotFound


async def _role_count(session_factory: async_sessionmaker[AsyncSession]) -> int:
    async with session_factory() as session:
        return (await session.execute(select(func.count()).select_from(Role))).scalar_one()


async def test_commits_when_the_block_ends(session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with atomic(session_factory) as session:
        session.add(Role(id=1, code="admin", name="Admin"))
    assert await _role_count(session_factory) == 1


async def test_rolls_back_on_error(session_factory: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(RuntimeError):
        async with atomic(session_factory) as session:
            session.add(Role(id=1, code="admin", name="Admin"))
            await session.flush()
            raise RuntimeError("boom")
    assert await _role_count(session_factory) == 0


async def test_integrity_error_becomes_conflict_naming_the_constraint(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with atomic(session_factory) as session:
        session.add(Role(id=1, code="admin", name="Admin"))
    with pytest.raises(Conflict) as info:
        async with atomic(session_factory) as session:
            session.add(Role(id=2, code="admin", name="Again"))
    assert info.value.details["constraint"] == "uq_roles_code"
    assert await _role_count(session_factory) == 1


async def test_no_result_becomes_not_found(session_factory: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(NotFound):
        async with atomic(session_factory) as session:
            (await session.execute(select(Role).where(Role.id == 99))).scalar_one()


async def test_unreachable_database_becomes_database_error(resources: Any) -> None:
    broken = Resources.create(resources.settings.with_overrides(database_url="postgresql://nobody@127.0.0.1:1/x"))
    try:
        with pytest.raises(DatabaseError):
            async with atomic(broken.session_factory) as session:
                await session.execute(text("SELECT 1"))
    finally:
        await broken.aclose()


async def test_after_commit_callbacks_run_only_after_commit(session_factory: async_sessionmaker[AsyncSession]) -> None:
    ran: list[str] = []

    async def record() -> None:
        ran.append("committed")

    async with atomic(session_factory) as session:
        on_commit(session, record)
        assert ran == []
    assert ran == ["committed"]

    with pytest.raises(RuntimeError):
        async with atomic(session_factory) as session:
            on_commit(session, record)
            raise RuntimeError
    assert ran == ["committed"]


async def test_a_failing_after_commit_callback_does_not_undo_the_commit(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async def explode() -> None:
        raise RuntimeError("cache down")

    async with atomic(session_factory) as session:
        session.add(Role(id=1, code="admin", name="Admin"))
        on_commit(session, explode)
    assert await _role_count(session_factory) == 1


async def test_an_idle_pooled_connection_that_died_is_replaced(resources: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """No ping per checkout, but one that sat idle is checked first: a server restart costs no request."""
    from jivapay.adapters.db import engine as engine_module

    engine = engine_module.create_engine(resources.settings, pool_size=1)
    try:
        async with engine.connect() as connection:
            pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with resources.engine.connect() as other:  # the server drops the pooled connection
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        monkeypatch.setattr(engine_module, "IDLE_PING_SECONDS", 0.0)
        async with engine.connect() as connection:
            fresh = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert fresh != pid
    finally:
        await engine.dispose()
