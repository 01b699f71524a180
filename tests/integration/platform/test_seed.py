from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import Bank, ConfigurationSetting, CryptoCurrency, FiatCurrency, PaymentMethod, Role
from jivapay.adapters.db.uow import atomic
from jivapay.domain.platform.audit import Actor
from jivapay.domain.platform.config import DEFAULTS
from jivapay.services.platform.config import set_config
from jivapay.services.platform.seed import seed_all


async def _count(session: AsyncSession, model: type) -> int:
    return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def test_seed_writes_reference_data_and_defaults(session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with atomic(session_factory) as session:
        await seed_all(session)
    async with session_factory() as session:
        roles = set((await session.scalars(select(Role.code))).all())
        networks = set((await session.scalars(select(CryptoCurrency.network))).all())
        assert roles == {"admin", "merchant", "trader", "teamlead", "support"}
        assert networks == {"TRC20", "BEP20", "ARBITRUM"}
        assert await _count(session, FiatCurrency) >= 1
        assert await _count(session, Bank) >= 1
        assert await _count(session, PaymentMethod) >= 1
        assert await _count(session, ConfigurationSetting) == len(DEFAULTS)


async def test_seed_is_idempotent_and_keeps_operator_values(session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with atomic(session_factory) as session:
        await seed_all(session)
    async with atomic(session_factory) as session:
        await set_config(session, "MAX_ORDER_RETRIES", 11, actor=Actor.user(1))
    async with atomic(session_factory) as session:
        created = await seed_all(session)
    assert set(created.values()) == {0}
    async with session_factory() as session:
        row = await session.get(ConfigurationSetting, "MAX_ORDER_RETRIES")
    assert row is not None
    assert row.value == "11"
