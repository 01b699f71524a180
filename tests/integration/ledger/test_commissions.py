from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.uow import atomic
from jivapay.domain.errors import ConfigurationError, ValidationFailed
from jivapay.domain.identity.roles import Role
from jivapay.domain.platform.audit import Actor
from jivapay.services.ledger.commissions import (
    _rate,
    calculate_commissions,
    commission_rates,
    set_commission,
)
from tests.factories import make_store, make_user

ADMIN = Actor.user(1)


async def _parties(session_factory: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    trader = await make_user(session_factory, Role.TRADER)
    merchant = await make_user(session_factory, Role.MERCHANT)
    return trader.id, await make_store(session_factory, merchant.id)


async def test_defaults_then_owner_then_payment_method(
    seeded: None, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    trader_id, store_id = await _parties(session_factory)
    async with session_factory() as session:
        assert await commission_rates(session, direction="payin", store_id=store_id, trader_id=trader_id) == (
            Decimal("0.05"),
            Decimal("0.03"),
        )
    async with atomic(session_factory) as session:
        await set_commission(session, ADMIN, owner="store", owner_id=store_id, direction="payin", rate=Decimal("0.06"))
        await set_commission(
            session,
            ADMIN,
            owner="store",
            owner_id=store_id,
            direction="payin",
            rate=Decimal("0.07"),
            payment_method_id=2,
        )
        await set_commission(
            session, ADMIN, owner="trader", owner_id=trader_id, direction="payin", rate=Decimal("0.025")
        )
    async with session_factory() as session:
        assert await commission_rates(session, direction="payin", store_id=store_id, trader_id=trader_id) == (
            Decimal("0.06"),
            Decimal("0.025"),
        )
        assert await commission_rates(
            session, direction="payin", store_id=store_id, trader_id=trader_id, payment_method_id=2
        ) == (Decimal("0.07"), Decimal("0.025"))
        assert await commission_rates(
            session, direction="payin", store_id=store_id, trader_id=trader_id, payment_method_id=1
        ) == (Decimal("0.06"), Decimal("0.025"))
    async with atomic(session_factory) as session:  # setting again replaces
        await set_commission(session, ADMIN, owner="store", owner_id=store_id, direction="payin", rate=Decimal("0.055"))
    async with session_factory() as session:
        rates = await commission_rates(session, direction="payin", store_id=store_id, trader_id=trader_id)
        assert rates[0] == Decimal("0.055")
        result = await calculate_commissions(
            session,
            direction="payin",
            amount=150_000,
            currency="RUB",
            rate=Decimal("90"),
            store_id=store_id,
            trader_id=trader_id,
        )
    assert result.hold == result.credit + result.platform_profit
    assert result.platform_profit > 0


async def test_no_rate_and_no_default_is_a_configuration_error(seeded: None) -> None:
    with pytest.raises(ConfigurationError, match="NO_SUCH_DEFAULT"):
        await _rate(None, "NO_SUCH_DEFAULT")


async def test_store_commission_below_the_traders_is_a_configuration_error(
    seeded: None, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    trader_id, store_id = await _parties(session_factory)
    async with atomic(session_factory) as session:
        await set_commission(
            session, ADMIN, owner="trader", owner_id=trader_id, direction="payout", rate=Decimal("0.5")
        )
    async with session_factory() as session:
        with pytest.raises(ConfigurationError):
            await calculate_commissions(
                session,
                direction="payout",
                amount=10_000,
                currency="RUB",
                rate=Decimal("90"),
                store_id=store_id,
                trader_id=trader_id,
            )


@pytest.mark.parametrize("rate", [Decimal("1"), Decimal("-0.01"), Decimal("0.0000001"), Decimal("NaN")])
async def test_bad_rates_are_refused(
    seeded: None, session_factory: async_sessionmaker[AsyncSession], rate: Decimal
) -> None:
    _, store_id = await _parties(session_factory)
    with pytest.raises(ValidationFailed):
        async with atomic(session_factory) as session:
            await set_commission(session, ADMIN, owner="store", owner_id=store_id, direction="payin", rate=rate)
    with pytest.raises(ValidationFailed):
        async with atomic(session_factory) as session:
            await set_commission(
                session, ADMIN, owner="store", owner_id=store_id, direction="sideways", rate=Decimal("0.1")
            )


async def test_a_rate_is_set_again_and_again_on_one_connection(
    seeded: None, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """The upsert keeps matching its unique index after PostgreSQL starts planning the prepared
    statement generically (from its sixth run on a connection): it failed with "no unique or
    exclusion constraint matching the ON CONFLICT specification" when the index expression's 0
    was sent as a parameter."""
    from jivapay.adapters.db.ledger.commissions import CommissionRepository

    store_id = await make_store(session_factory, (await make_user(session_factory, Role.MERCHANT)).id)
    async with atomic(session_factory) as session:
        repository = CommissionRepository(session)
        for n in range(10):
            await repository.set_rate("store", store_id, "payin", None, Decimal("0.01") + Decimal(n) / 1000)
            await repository.set_rate("store", store_id, "payin", 1, Decimal("0.02") + Decimal(n) / 1000)
        rates = await repository.owner_rates("store", store_id)
    assert rates == [("payin", None, Decimal("0.019")), ("payin", 1, Decimal("0.029"))]
