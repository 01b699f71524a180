from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import AuditLogEntry, OrderHistory, OutboxMessage, SettledOrder
from jivapay.adapters.db.orders.orders import OrderRepository
from jivapay.adapters.db.uow import atomic
from jivapay.domain.errors import Conflict
from jivapay.domain.identity.roles import Role
from jivapay.domain.ledger import posting as L
from jivapay.services.ledger import posting
from jivapay.services.ledger.audit import audit_platform
from jivapay.services.platform.outbox import enqueue_after_commit
from jivapay.worker.broker import broker
from jivapay.worker.relay import relay_pending
from tests.factories import make_store, make_user
from tests.integration.ledger.helpers import assert_ledger_sound, balance

RATE, S, T = Decimal("90"), Decimal("0.05"), Decimal("0.03")


async def _parties(session_factory: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    trader = await make_user(session_factory, Role.TRADER)
    merchant = await make_user(session_factory, Role.MERCHANT)
    return trader.id, await make_store(session_factory, merchant.id)


async def _order(
    session_factory: async_sessionmaker[AsyncSession],
    direction: str,
    trader_id: int,
    store_id: int,
    amount: int = 150_000,
    store: Decimal = S,
    trader: Decimal = T,
) -> int:
    async with atomic(session_factory) as session:
        order = await OrderRepository(session).add(
            OrderHistory(
                store_id=store_id,
                trader_id=trader_id,
                direction=direction,
                status="assigned",
                currency="RUB",
                amount=amount,
                rate=RATE,
                store_commission=store,
                trader_commission=trader,
            )
        )
    return order.id


async def _complete(session_factory: async_sessionmaker[AsyncSession], order_id: int) -> None:
    async with atomic(session_factory) as session:
        await session.execute(update(OrderHistory).where(OrderHistory.id == order_id).values(status="completed"))


async def test_payin_settlement_moves_collateral_to_store_and_profit(
    seeded: None, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    trader_id, store_id = await _parties(session_factory)
    async with atomic(session_factory) as session:
        await posting.credit_deposit(session, "trader", trader_id, "TRC20", 100_000_000, "collateral")
    order_id = await _order(session_factory, "payin", trader_id, store_id)
    split = L.payin_split(150_000, 2, RATE, S, T)
    async with atomic(session_factory) as session:  # at assignment (the order engine does this)
        await posting.freeze(session, "trader", trader_id, split.trader_hold, posting.order_hold_reference(order_id))
    with pytest.raises(Conflict):  # not completed yet
        async with atomic(session_factory) as session:
            await posting.settle_completed_order(session, order_id)
    await _complete(session_factory, order_id)
    async with atomic(session_factory) as session:
        result = await posting.settle_completed_order(session, order_id)
    assert result.platform_profit == split.platform_profit
    assert await balance(session_factory, L.store_available(store_id)) == split.store_credit
    assert await balance(session_factory, L.platform_profit()) == split.platform_profit
    assert await balance(session_factory, L.trader_frozen(trader_id)) == 0
    assert await balance(session_factory, L.trader_available(trader_id)) == 100_000_000 - split.trader_hold
    assert await balance(session_factory, L.trader_fiat(trader_id, "RUB", "payin")) == 150_000
    assert await balance(session_factory, L.external_fiat("RUB")) == -150_000
    async with atomic(session_factory) as session:
        again = await posting.settle_completed_order(session, order_id)
    assert again.replayed
    assert again.transaction_id == result.transaction_id
    assert await balance(session_factory, L.store_available(store_id)) == split.store_credit
    await assert_ledger_sound(session_factory)


async def test_payout_settlement_pays_the_trader_from_the_stores_hold(
    seeded: None, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    trader_id, store_id = await _parties(session_factory)
    async with atomic(session_factory) as session:
        await posting.credit_deposit(session, "store", store_id, "TRC20", 50_000_000, "store-funds")
    order_id = await _order(
        session_factory, "payout", trader_id, store_id, store=Decimal("0.03"), trader=Decimal("0.015")
    )
    split = L.payout_split(150_000, 2, RATE, Decimal("0.03"), Decimal("0.015"))
    async with atomic(session_factory) as session:  # at payout init
        await posting.freeze(session, "store", store_id, split.store_hold, posting.order_hold_reference(order_id))
    await _complete(session_factory, order_id)
    async with atomic(session_factory) as session:
        await posting.settle_completed_order(session, order_id)
    assert await balance(session_factory, L.trader_available(trader_id)) == split.trader_credit
    assert await balance(session_factory, L.store_available(store_id)) == 50_000_000 - split.store_hold
    assert await balance(session_factory, L.store_frozen(store_id)) == 0
    assert await balance(session_factory, L.platform_profit()) == split.platform_profit
    assert await balance(session_factory, L.trader_fiat(trader_id, "RUB", "payout")) == 150_000
    await assert_ledger_sound(session_factory)


async def _hold(session_factory: async_sessionmaker[AsyncSession], order_id: int, trader_id: int) -> None:
    """The pay-in's collateral, frozen as assignment does."""
    async with atomic(session_factory) as session:
        split = L.payin_split(150_000, 2, RATE, S, T)
        await posting.freeze(session, "trader", trader_id, split.trader_hold, posting.order_hold_reference(order_id))


async def test_a_completed_order_without_its_hold_is_flagged_and_nothing_is_taken(
    seeded: None, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """Settlement never freezes the payer's money itself: a missing hold is a bug for a person."""
    trader_id, store_id = await _parties(session_factory)
    async with atomic(session_factory) as session:
        await posting.credit_deposit(session, "trader", trader_id, "TRC20", 100_000_000, "collateral")
    order_id = await _order(session_factory, "payin", trader_id, store_id)
    await _complete(session_factory, order_id)
    with pytest.raises(Conflict):
        async with atomic(session_factory) as session:
            await posting.settle_completed_order(session, order_id)

    assert await posting.settle_or_flag(session_factory, order_id) is None
    assert await balance(session_factory, L.trader_available(trader_id)) == 100_000_000
    assert await balance(session_factory, L.store_available(store_id)) == 0
    async with session_factory() as session:
        assert await session.get(SettledOrder, order_id) is None
        order = await session.get(OrderHistory, order_id)
        assert order is not None
        assert order.settlement_error is not None
        assert "no hold" in order.settlement_error
        about_order = (AuditLogEntry.target_type == "order", AuditLogEntry.target_id == str(order_id))
        actions = (await session.execute(select(AuditLogEntry.action).where(*about_order))).scalars()
        assert "ledger.settle_failed" in list(actions)
        alerts = (await session.execute(select(OutboxMessage.actor_name, OutboxMessage.kwargs))).all()
        assert ("notifications.order_alert", {"order_id": order_id, "kind": "settlement_failed"}) in [
            (a, k) for a, k in alerts
        ]
        # the reconciliation leaves it to support; the auditor names it
        assert await OrderRepository(session).unsettled(100, dt.timedelta(0)) == []
    assert await posting.settle_or_flag(session_factory, order_id) is None  # flagged once
    async with session_factory() as session, session.begin():
        report = await audit_platform(session)
    assert report.checks["completed_orders_settled"] == 1
    await assert_ledger_sound(session_factory)


async def test_concurrent_settlements_of_one_order_settle_it_once(
    seeded: None, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    trader_id, store_id = await _parties(session_factory)
    async with atomic(session_factory) as session:
        await posting.credit_deposit(session, "trader", trader_id, "TRC20", 100_000_000, "collateral")
    order_id = await _order(session_factory, "payin", trader_id, store_id)
    await _hold(session_factory, order_id, trader_id)
    await _complete(session_factory, order_id)

    async def settle() -> bool:
        async with atomic(session_factory) as session:
            return (await posting.settle_completed_order(session, order_id)).replayed

    replays = await asyncio.gather(*(settle() for _ in range(6)))
    assert sorted(replays) == [False] + [True] * 5
    split = L.payin_split(150_000, 2, RATE, S, T)
    assert await balance(session_factory, L.store_available(store_id)) == split.store_credit
    await assert_ledger_sound(session_factory)


async def test_settlement_through_the_outbox_and_the_actor(
    seeded: None, session_factory: async_sessionmaker[AsyncSession], worker: Any
) -> None:
    trader_id, store_id = await _parties(session_factory)
    async with atomic(session_factory) as session:
        await posting.credit_deposit(session, "trader", trader_id, "TRC20", 100_000_000, "collateral")
    order_id = await _order(session_factory, "payin", trader_id, store_id)
    await _hold(session_factory, order_id, trader_id)
    async with atomic(session_factory) as session:
        await session.execute(update(OrderHistory).where(OrderHistory.id == order_id).values(status="completed"))
        await enqueue_after_commit(session, "ledger.settle", order_id=order_id)
    await relay_pending(session_factory, broker, batch_size=10)
    split = L.payin_split(150_000, 2, RATE, S, T)
    for _ in range(100):
        if await balance(session_factory, L.store_available(store_id)) == split.store_credit:
            break
        await asyncio.sleep(0.05)
    assert await balance(session_factory, L.store_available(store_id)) == split.store_credit
    await assert_ledger_sound(session_factory)
