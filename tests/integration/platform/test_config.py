from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import AuditLogEntry, ConfigurationSetting
from jivapay.adapters.db.uow import atomic
from jivapay.domain.errors import ConfigurationError, ValidationFailed
from jivapay.domain.platform.audit import Actor
from jivapay.services.platform import config
from jivapay.services.platform.config import VERSION_KEY, get_config, set_config

ADMIN = Actor.user(1)


async def test_seeded_values_are_typed(seeded: None) -> None:
    assert await get_config("MAX_ORDER_RETRIES", int) == 5
    assert await get_config("RETRY_BACKOFF_FACTOR", Decimal) == Decimal("2")
    assert await get_config("RATE_LIMIT_DEFAULT", str) == "100/minute"
    assert await get_config("ALLOW_AMOUNT_SHIFT", bool) is True
    assert await get_config("FRAUD_BLOCKED_IPS", list) == []


async def test_missing_key_uses_the_callers_default_then_the_builtin_one() -> None:
    assert await get_config("NOT_A_SETTING", int, 42) == 42
    assert await get_config("MAX_ORDER_RETRIES", int) == 5  # built-in default, table empty
    with pytest.raises(ConfigurationError, match="NOT_A_SETTING"):
        await get_config("NOT_A_SETTING", int)


async def test_asking_for_the_wrong_type_is_a_configuration_error(seeded: None) -> None:
    with pytest.raises(ConfigurationError, match="RATE_LIMIT_DEFAULT"):
        await get_config("RATE_LIMIT_DEFAULT", int)


async def test_set_config_is_audited_and_visible_at_once(
    seeded: None, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    assert await get_config("MAX_ORDER_RETRIES", int) == 5
    async with atomic(session_factory) as session:
        await set_config(session, "MAX_ORDER_RETRIES", 7, actor=ADMIN, ip="198.51.100.1")
    assert await get_config("MAX_ORDER_RETRIES", int) == 7
    async with session_factory() as session:
        row = await session.get(ConfigurationSetting, "MAX_ORDER_RETRIES")
        audit = (await session.scalars(select(AuditLogEntry))).one()
    assert row is not None
    assert (row.value, row.updated_by) == ("7", "user:1")
    assert audit.action == "config.set"
    assert audit.details == {"old": "5", "new": "7"}


async def test_bad_value_is_refused_and_changes_nothing(
    seeded: None, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    with pytest.raises(ValidationFailed, match="MAX_ORDER_RETRIES"):
        async with atomic(session_factory) as session:
            await set_config(session, "MAX_ORDER_RETRIES", "many", actor=ADMIN)
    with pytest.raises(ValidationFailed):
        async with atomic(session_factory) as session:
            await set_config(session, "RETRY_BACKOFF_FACTOR", 1.5, actor=ADMIN)  # floats never
    assert await get_config("MAX_ORDER_RETRIES", int) == 5
    async with session_factory() as session:
        assert (await session.scalars(select(AuditLogEntry))).all() == []


async def test_rolled_back_change_does_not_reach_the_cache(
    seeded: None, session_factory: async_sessionmaker[AsyncSession], resources: Any
) -> None:
    assert await get_config("MAX_ORDER_RETRIES", int) == 5
    version = await resources.redis.get(VERSION_KEY)
    with pytest.raises(RuntimeError):
        async with atomic(session_factory) as session:
            await set_config(session, "MAX_ORDER_RETRIES", 9, actor=ADMIN)
            raise RuntimeError
    assert await resources.redis.get(VERSION_KEY) == version
    assert await get_config("MAX_ORDER_RETRIES", int) == 5


async def test_change_made_by_another_process_is_seen_after_the_version_bump(
    seeded: None, session_factory: async_sessionmaker[AsyncSession], resources: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the version is asked at most every VERSION_CHECK_SECONDS; let that window pass at once
    monkeypatch.setattr(config, "VERSION_CHECK_SECONDS", 0.0)
    assert await get_config("MAX_ORDER_RETRIES", int) == 5
    # another process writes the row and bumps the shared version; this process's cache is warm
    async with atomic(session_factory) as session:
        await session.execute(
            update(ConfigurationSetting).where(ConfigurationSetting.key == "MAX_ORDER_RETRIES").values(value="3")
        )
    assert await get_config("MAX_ORDER_RETRIES", int) == 5  # still the cached copy
    await resources.redis.incr(VERSION_KEY)
    assert await get_config("MAX_ORDER_RETRIES", int) == 3


async def test_redis_outage_falls_back_to_the_database(
    seeded: None, resources: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from redis.asyncio import Redis

    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    monkeypatch.setattr(resources, "redis", dead)
    try:
        assert await get_config("MAX_ORDER_RETRIES", int) == 5
    finally:
        await dead.aclose()
    assert config._Outage.reported


async def test_unknown_setting_needs_an_explicit_type(
    seeded: None, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    with pytest.raises(ValidationFailed):
        async with atomic(session_factory) as session:
            await set_config(session, "NEW_FLAG", True, actor=ADMIN)
    async with atomic(session_factory) as session:
        await set_config(session, "NEW_FLAG", True, actor=ADMIN, value_type="bool", description="a flag")
    assert await get_config("NEW_FLAG", bool) is True
    with pytest.raises(ValidationFailed):
        async with atomic(session_factory) as session:
            await set_config(session, "lower_case", 1, actor=ADMIN, value_type="int")


async def test_the_version_is_asked_at_most_once_a_second(seeded: None, resources: Any) -> None:
    assert await get_config("MAX_ORDER_RETRIES", int) == 5
    await resources.redis.incr(VERSION_KEY)  # another process changed something
    await resources.redis.set(VERSION_KEY, "999")
    assert config._version.get(config._CURRENT) != "999"
    assert await get_config("MAX_ORDER_RETRIES", int) == 5  # within the window: no Redis round trip
    assert config._version.get(config._CURRENT) != "999"
