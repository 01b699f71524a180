from __future__ import annotations

import asyncio
import random

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import Hold
from jivapay.adapters.db.uow import atomic
from jivapay.domain.errors import Conflict, InsufficientBalance, JivaPayError, NotFound, ValidationFailed
from jivapay.domain.ledger import posting as L
from jivapay.services.ledger import posting
from tests.integration.ledger.helpers import assert_ledger_sound, balance

T_AVAILABLE, T_FROZEN = L.trader_available(1), L.trader_frozen(1)
STORE = L.store_available(7)


async def _fund(session_factory: async_sessionmaker[AsyncSession], amount: int) -> None:
    async with atomic(session_factory) as session:
        await posting.credit_deposit(session, "trader", 1, "TRC20", amount, f"fund-{amount}")


async def _freeze(session_factory: async_sessionmaker[AsyncSession], amount: int, ref: str) -> None:
    async with atomic(session_factory) as session:
        await posting.freeze(session, "trader", 1, amount, ref)


async def test_freeze_capture_release(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await _fund(session_factory, 1_000)
    await _freeze(session_factory, 300, "order:1")
    await _freeze(session_factory, 200, "order:2")
    assert (await balance(session_factory, T_AVAILABLE), await balance(session_factory, T_FROZEN)) == (500, 500)
    await _freeze(session_factory, 300, "order:1")  # replay: nothing new
    assert await balance(session_factory, T_FROZEN) == 500
    with pytest.raises(Conflict):
        await _freeze(session_factory, 301, "order:1")  # same reference, other amount

    async with atomic(session_factory) as session:
        await posting.capture(session, "order:1", [L.Leg(STORE, 250), L.Leg(L.platform_profit(), 40)])
    # partial capture: the 10 not taken returns to the trader
    assert await balance(session_factory, STORE) == 250
    assert await balance(session_factory, L.platform_profit()) == 40
    assert await balance(session_factory, T_AVAILABLE) == 510
    async with atomic(session_factory) as session:
        await posting.release(session, "order:2")
    assert (await balance(session_factory, T_AVAILABLE), await balance(session_factory, T_FROZEN)) == (710, 0)
    async with session_factory() as session:
        statuses = dict((await session.execute(select(Hold.reference, Hold.status))).all())
    assert statuses == {"order:1": "captured", "order:2": "released"}
    await assert_ledger_sound(session_factory)


async def test_a_hold_resolves_once(session_factory: async_sessionmaker[AsyncSession]) -> None:
    await _fund(session_factory, 1_000)
    await _freeze(session_factory, 300, "order:1")
    async with atomic(session_factory) as session:
        await posting.release(session, "order:1")
    with pytest.raises(Conflict):
        async with atomic(session_factory) as session:
            await posting.capture(session, "order:1", [L.Leg(STORE, 300)])
    async with atomic(session_factory) as session:  # the same release again is a replay
        assert (await posting.release(session, "order:1")).replayed
    with pytest.raises(NotFound):
        async with atomic(session_factory) as session:
            await posting.capture(session, "order:9", [])
    assert await balance(session_factory, STORE) == 0
    await assert_ledger_sound(session_factory)


async def test_over_capture_and_freeze_beyond_collateral_are_refused(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await _fund(session_factory, 100)
    with pytest.raises(InsufficientBalance):
        await _freeze(session_factory, 101, "order:1")
    await _freeze(session_factory, 100, "order:1")
    with pytest.raises(ValidationFailed):
        async with atomic(session_factory) as session:
            await posting.capture(session, "order:1", [L.Leg(STORE, 101)])
    assert await balance(session_factory, T_FROZEN) == 100
    await assert_ledger_sound(session_factory)


async def test_concurrent_resolution_has_exactly_one_winner_and_no_deadlock(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    holds = 8
    await _fund(session_factory, 10_000)
    async with atomic(session_factory) as session:
        await posting.credit_deposit(session, "store", 7, "TRC20", 10_000, "store-fund")
    for n in range(holds):
        await _freeze(session_factory, 100, f"order:{n}")
    outcomes: dict[str, list[str]] = {f"order:{n}": [] for n in range(holds)}
    errors: list[BaseException] = []

    async def resolve(reference: str, how: str) -> None:
        try:
            async with atomic(session_factory) as session:
                if how == "capture":
                    await posting.capture(
                        session,
                        reference,
                        [L.Leg(STORE, 60), L.Leg(L.platform_profit(), 40)],
                        key=f"capture:{reference}:{random.random()}",
                    )
                else:
                    await posting.release(session, reference, key=f"release:{reference}:{random.random()}")
            outcomes[reference].append(how)
        except Conflict:
            pass
        except Exception as exc:
            errors.append(exc)

    async def shuffle_money(n: int) -> None:
        # transfers back and forth between the same accounts, in both directions
        try:
            async with atomic(session_factory) as session:
                a, b = (STORE, T_AVAILABLE) if n % 2 else (T_AVAILABLE, STORE)
                await posting.post(
                    session, idempotency_key=f"shuffle:{n}", kind="transfer", legs=[L.Leg(a, -1), L.Leg(b, 1)]
                )
        except JivaPayError as exc:
            errors.append(exc)

    tasks = [resolve(f"order:{n}", how) for n in range(holds) for how in ("capture", "release") * 3]
    tasks += [shuffle_money(n) for n in range(40)]
    random.shuffle(tasks)
    await asyncio.gather(*tasks)
    assert errors == []
    assert all(len(won) == 1 for won in outcomes.values()), outcomes
    assert await balance(session_factory, T_FROZEN) == 0
    await assert_ledger_sound(session_factory)
