from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import LedgerEntry, LedgerTransaction
from jivapay.adapters.db.uow import atomic
from jivapay.domain.errors import Conflict, InsufficientBalance, ValidationFailed
from jivapay.domain.ledger import posting as L
from jivapay.services.ledger import posting
from jivapay.services.ledger.audit import audit_ledger
from tests.integration.ledger.helpers import assert_ledger_sound, balance

TRADER = L.trader_available(1)
STORE = L.store_available(2)


async def _deposit(session_factory: async_sessionmaker[AsyncSession], amount: int, ref: str = "tx1") -> None:
    async with atomic(session_factory) as session:
        await posting.credit_deposit(session, "trader", 1, "TRC20", amount, ref)


async def test_a_posting_moves_money_and_writes_entries(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await _deposit(session_factory, 1_000_000)
    async with atomic(session_factory) as session:
        result = await posting.post(
            session, idempotency_key="t1", kind="transfer", legs=[L.Leg(TRADER, -400_000), L.Leg(STORE, 400_000)]
        )
    assert not result.replayed
    assert await balance(session_factory, TRADER) == 600_000
    assert await balance(session_factory, STORE) == 400_000
    assert await balance(session_factory, L.external_crypto("TRC20")) == -1_000_000
    async with session_factory() as session:
        entries = (
            await session.scalars(
                select(LedgerEntry).where(LedgerEntry.transaction_id == result.transaction_id).order_by(LedgerEntry.id)
            )
        ).all()
    assert sorted((e.amount, e.balance_after) for e in entries) == [(-400_000, 600_000), (400_000, 400_000)]
    await assert_ledger_sound(session_factory)


async def test_unbalanced_or_degenerate_postings_are_refused(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await _deposit(session_factory, 1_000)
    cases = [
        [L.Leg(TRADER, -10), L.Leg(STORE, 9)],
        [L.Leg(TRADER, -10)],
        [L.Leg(TRADER, -10), L.Leg(TRADER, 10)],
        [L.Leg(TRADER, -10), L.Leg(L.trader_fiat(1, "RUB", "payin"), 10)],  # currencies differ
    ]
    for legs in cases:
        with pytest.raises(ValidationFailed):
            async with atomic(session_factory) as session:
                await posting.post(session, idempotency_key="bad", kind="transfer", legs=legs)
    with pytest.raises(ValidationFailed):
        async with atomic(session_factory) as session:
            await posting.post(
                session, idempotency_key="float", kind="transfer", legs=[L.Leg(TRADER, -1.5), L.Leg(STORE, 1.5)]
            )  # type: ignore[arg-type]
    assert await balance(session_factory, TRADER) == 1_000
    await assert_ledger_sound(session_factory)


async def test_overdraft_is_insufficient_balance_and_changes_nothing(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await _deposit(session_factory, 500)
    with pytest.raises(InsufficientBalance) as info:
        async with atomic(session_factory) as session:
            await posting.post(
                session, idempotency_key="big", kind="transfer", legs=[L.Leg(TRADER, -501), L.Leg(STORE, 501)]
            )
    assert info.value.details["needed"] == "0.000501"
    assert info.value.amounts["needed"] == 501
    assert "account_id" not in info.value.details
    assert await balance(session_factory, TRADER) == 500
    async with session_factory() as session:
        assert (await session.scalar(select(func.count()).select_from(LedgerTransaction))) == 1


async def test_the_database_refuses_a_negative_balance_even_without_python(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await _deposit(session_factory, 500)
    with pytest.raises(Conflict):
        async with atomic(session_factory) as session:
            await session.execute(text("UPDATE accounts SET balance = -1 WHERE kind = 'available'"))


async def test_same_key_same_legs_replays_other_legs_conflict(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await _deposit(session_factory, 1_000)
    legs = [L.Leg(TRADER, -100), L.Leg(STORE, 100)]
    async with atomic(session_factory) as session:
        first = await posting.post(session, idempotency_key="k", kind="transfer", legs=legs)
    async with atomic(session_factory) as session:
        again = await posting.post(session, idempotency_key="k", kind="transfer", legs=legs)
    assert again.replayed
    assert again.transaction_id == first.transaction_id
    with pytest.raises(Conflict):
        async with atomic(session_factory) as session:
            await posting.post(
                session, idempotency_key="k", kind="transfer", legs=[L.Leg(TRADER, -200), L.Leg(STORE, 200)]
            )
    assert await balance(session_factory, STORE) == 100
    # a repeated deposit reference with another amount is refused too
    await _deposit(session_factory, 1_000)  # same tx1: replay, no change
    assert await balance(session_factory, TRADER) == 900
    with pytest.raises(Conflict):
        await _deposit(session_factory, 2_000)
    await assert_ledger_sound(session_factory)


async def test_entries_and_transactions_are_append_only(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await _deposit(session_factory, 1_000)
    for statement in (
        "UPDATE ledger_entries SET amount = 1",
        "DELETE FROM ledger_entries",
        "UPDATE ledger_transactions SET kind = 'x'",
    ):
        with pytest.raises(Conflict):
            async with atomic(session_factory) as session:
                await session.execute(text(statement))


async def test_the_auditor_finds_tampering(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await _deposit(session_factory, 1_000)
    async with atomic(session_factory) as session:
        await session.execute(text("UPDATE accounts SET balance = balance + 5 WHERE kind = 'available'"))
    async with session_factory() as session, session.begin():
        report = await audit_ledger(session)
    assert not report.ok
    assert report.checks["balance_equals_entries"] == 1
    assert report.checks["balance_equals_last_entry"] == 1
