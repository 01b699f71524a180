"""Money paths without gaps (issue 12): a declined pay-out goes to another trader with the store's
USDT frozen throughout; a duplicate assignment message spends no retry; the teamlead's share is
fixed at assignment; a lost settlement is found by the scheduler; the auditor checks orders
against holds."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.models import IncomingOrder, OrderHistory, OutboxMessage
from jivapay.adapters.db.uow import atomic
from jivapay.domain.identity.roles import Role
from jivapay.domain.ledger import posting as L
from jivapay.domain.orders.status import Party
from jivapay.domain.platform.audit import Actor
from jivapay.services.identity import users as user_service
from jivapay.services.ledger import posting
from jivapay.services.ledger.audit import LedgerAuditReport, audit_platform
from jivapay.services.orders.status import change_status
from jivapay.worker.scheduler import enqueue_unsettled_orders_job
from tests.factories import SYSTEM, make_user
from tests.integration.conftest import World
from tests.integration.ledger.helpers import assert_ledger_sound, balance

STORE_FLOAT = 100 * 10**6


async def _audit(session_factory: async_sessionmaker[AsyncSession]) -> LedgerAuditReport:
    async with session_factory() as session, session.begin():
        return await audit_platform(session)


async def _assert_clean(session_factory: async_sessionmaker[AsyncSession]) -> None:
    report = await _audit(session_factory)
    assert report.ok, report.violations


async def _incoming(session_factory: async_sessionmaker[AsyncSession], incoming_id: int) -> IncomingOrder:
    async with session_factory() as session:
        incoming = await session.get(IncomingOrder, incoming_id)
    assert incoming is not None
    return incoming


async def _order(session_factory: async_sessionmaker[AsyncSession], order_id: int) -> OrderHistory:
    async with session_factory() as session:
        order = await session.get(OrderHistory, order_id)
    assert order is not None
    return order


async def _payout(world: World, amount: int, ref: str) -> int:
    """A pay-out as the gateway makes it: the incoming order and the store's funds frozen at init."""
    incoming_id = await world.incoming(amount, merchant_order_id=ref, direction="payout")
    split = L.payout_split(amount, 2, Decimal("90"), Decimal("0"), Decimal("0"))
    async with atomic(world.session_factory) as session:
        await posting.freeze(
            session, "store", world.store_id, split.store_hold, posting.payout_init_hold_reference(incoming_id)
        )
    return incoming_id


async def _decline(world: World, order_id: int, trader: int) -> None:
    async with atomic(world.session_factory) as session:
        await change_status(
            session, order_id, "declined", party=Party.TRADER, actor=Actor.user(trader), trader_id=trader
        )


async def test_a_declined_payout_goes_to_another_trader_with_the_store_frozen_throughout(world: World) -> None:
    first = await world.trader(priority=1)  # served first
    second = await world.trader(priority=2)
    await world.requisite(first)
    await world.requisite(second)
    async with atomic(world.session_factory) as session:
        await posting.credit_deposit(session, "store", world.store_id, "TRC20", STORE_FLOAT, "store-float")
    incoming_id = await _payout(world, 150_000, "po-decline")
    await world.configure(MAX_ORDER_RETRIES=1)

    outcome = await world.process(incoming_id)
    assert outcome.status == "assigned"
    order = await _order(world.session_factory, outcome.order_id)
    assert order.trader_id == first
    hold = L.payout_split(150_000, 2, order.rate, order.store_commission, order.trader_commission).store_hold
    frozen, available = L.store_frozen(world.store_id), L.store_available(world.store_id)
    assert await balance(world.session_factory, frozen) == hold
    await _assert_clean(world.session_factory)

    await _decline(world, order.id, first)
    incoming = await _incoming(world.session_factory, incoming_id)
    assert (incoming.status, incoming.order_id) == ("retrying", None)
    assert await balance(world.session_factory, frozen) == hold  # no gap: still frozen while it waits
    assert await balance(world.session_factory, available) == STORE_FLOAT - hold
    await _assert_clean(world.session_factory)

    # the second assignment of the same incoming order no longer collides with the first
    again = await world.process(incoming_id)
    assert again.status == "assigned", again
    reassigned = await _order(world.session_factory, again.order_id)
    assert reassigned.trader_id == second  # the trader who declined is not asked again
    assert reassigned.incoming_order_id == incoming_id
    assert (await _order(world.session_factory, order.id)).status == "declined"
    assert await balance(world.session_factory, frozen) == hold
    await _assert_clean(world.session_factory)

    # declined by everyone: it fails, and only then does the store get its USDT back
    await _decline(world, reassigned.id, second)
    failed = await world.process(incoming_id)
    assert failed.status == "failed", failed
    assert await balance(world.session_factory, frozen) == 0
    assert await balance(world.session_factory, available) == STORE_FLOAT
    await _assert_clean(world.session_factory)
    await assert_ledger_sound(world.session_factory)


async def test_a_duplicate_assign_message_does_not_spend_a_retry(world: World) -> None:
    from jivapay.services.orders.processing import process_incoming_order

    incoming_id = await world.incoming(150_000, merchant_order_id="dup")  # no trader: every attempt fails
    first = await process_incoming_order(world.session_factory, incoming_id, attempt=0)
    assert first.status == "retrying"
    assert (await _incoming(world.session_factory, incoming_id)).retry_count == 1
    for _ in range(3):  # the same message again (redelivered, or the gateway's beside the scheduler's)
        duplicate = await process_incoming_order(world.session_factory, incoming_id, attempt=0)
        assert duplicate.status == "unchanged"
    incoming = await _incoming(world.session_factory, incoming_id)
    assert incoming.retry_count == 1
    assert incoming.next_attempt_at > dt.datetime.now(dt.UTC)  # its backoff still stands
    second = await process_incoming_order(world.session_factory, incoming_id, attempt=1)
    assert second.status == "retrying"
    assert (await _incoming(world.session_factory, incoming_id)).retry_count == 2


async def test_the_teamlead_share_is_fixed_when_the_order_is_assigned(world: World) -> None:
    lead = await make_user(world.session_factory, Role.TEAMLEAD)
    async with atomic(world.session_factory) as session:
        await user_service.update_user(session, SYSTEM, lead.id, changes={}, profile={"reward_share": "0.1"})
    trader = await world.trader()
    async with atomic(world.session_factory) as session:
        await user_service.update_user(session, SYSTEM, trader, changes={}, profile={"teamlead_id": lead.id})
    await world.requisite(trader)
    outcome = await world.process(await world.incoming(150_000, merchant_order_id="share"))
    order = await _order(world.session_factory, outcome.order_id)
    assert (order.teamlead_id, order.teamlead_share) == (lead.id, Decimal("0.1000"))

    async with atomic(world.session_factory) as session:  # changed after assignment: not this order's
        await user_service.update_user(session, SYSTEM, lead.id, changes={}, profile={"reward_share": "0.5"})
    async with atomic(world.session_factory) as session:
        await change_status(session, order.id, "completed", party=Party.TRADER, actor=SYSTEM, trader_id=trader)
    async with atomic(world.session_factory) as session:
        await posting.settle_completed_order(session, order.id)
    profit = L.payin_split(order.amount, 2, order.rate, order.store_commission, order.trader_commission).platform_profit
    reward = int((profit * Decimal("0.1")).to_integral_value(rounding=ROUND_FLOOR))
    assert reward > 0
    teamlead = L.AccountKey("teamlead", lead.id, L.USDT, "available")
    assert await balance(world.session_factory, teamlead) == reward
    await _assert_clean(world.session_factory)


async def test_a_lost_settlement_is_found_and_settled_by_the_scheduler(world: World, worker: Any) -> None:
    trader = await world.trader()
    await world.requisite(trader)
    outcome = await world.process(await world.incoming(150_000, merchant_order_id="lost"))
    async with atomic(world.session_factory) as session:
        await change_status(
            session, outcome.order_id, "completed", party=Party.TRADER, actor=Actor.user(trader), trader_id=trader
        )
    # the outbox handed the message to the broker, which lost it (a Redis restart): nothing re-sends it
    async with atomic(world.session_factory) as session:
        await session.execute(update(OutboxMessage).values(sent_at=dt.datetime.now(dt.UTC)))
        await session.execute(
            update(OrderHistory)
            .where(OrderHistory.id == outcome.order_id)
            .values(completed_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
        )
    assert (await _order(world.session_factory, outcome.order_id)).settled_at is None

    await enqueue_unsettled_orders_job()
    for _ in range(200):
        if (await _order(world.session_factory, outcome.order_id)).settled_at is not None:
            break
        await asyncio.sleep(0.05)
    order = await _order(world.session_factory, outcome.order_id)
    assert order.settled_at is not None
    split = L.payin_split(order.amount, 2, order.rate, order.store_commission, order.trader_commission)
    assert await balance(world.session_factory, L.store_available(world.store_id)) == split.store_credit
    await enqueue_unsettled_orders_job()  # nothing left to send; a resend would be a no-op anyway
    await _assert_clean(world.session_factory)


async def test_the_auditor_checks_orders_against_their_holds(world: World) -> None:
    trader = await world.trader()
    await world.requisite(trader)
    open_order = await world.process(await world.incoming(150_000, merchant_order_id="a1"))
    await _assert_clean(world.session_factory)

    # a hold released behind the order's back, and a hold nobody owns
    async with atomic(world.session_factory) as session:
        await posting.release(session, posting.order_hold_reference(open_order.order_id))
        await posting.freeze(session, "trader", trader, 1_000, "order:999999")
    # a pay-out waiting for a trader whose store funds were never frozen
    waiting = await world.incoming(100_000, merchant_order_id="p1", direction="payout")

    report = await _audit(world.session_factory)
    assert report.checks["open_orders_hold_exactly"] == 1
    assert report.checks["no_orphan_holds"] == 1
    assert report.checks["waiting_payouts_frozen"] == 1
    assert any(f"pay-out {waiting} " in v for v in report.violations)
    assert any("order:999999" in v for v in report.violations)
    async with world.session_factory() as session:
        assert (await session.scalars(select(OrderHistory.status))).one() == "pending_payment"


async def test_an_unsettleable_order_is_listed_for_staff_and_settled_again_by_an_admin(
    world: World, client: Any
) -> None:
    from tests.factories import bearer, token_for

    trader = await world.trader()
    await world.requisite(trader)
    outcome = await world.process(await world.incoming(150_000, merchant_order_id="broken"))
    order = await _order(world.session_factory, outcome.order_id)
    async with atomic(world.session_factory) as session:
        await change_status(session, order.id, "completed", party=Party.TRADER, actor=SYSTEM, trader_id=trader)
    # a bug released the hold behind the order's back: settlement must not take the trader's money again
    async with atomic(world.session_factory) as session:
        await session.execute(update(OrderHistory).where(OrderHistory.id == order.id).values(status="pending_payment"))
        await posting.release(session, posting.order_hold_reference(order.id))
        await session.execute(update(OrderHistory).where(OrderHistory.id == order.id).values(status="completed"))
    available = await balance(world.session_factory, L.trader_available(trader))
    assert await posting.settle_or_flag(world.session_factory, order.id) is None
    assert await balance(world.session_factory, L.trader_available(trader)) == available

    admin = await make_user(world.session_factory, Role.ADMIN)
    headers = bearer(await token_for(client, Role.ADMIN, admin.login))
    listed = await client.get("/admin/orders", headers=headers, params={"settlement_failed": "true"})
    assert listed.status_code == 200, listed.text
    [row] = listed.json()["data"]
    assert row["id"] == order.public_id
    assert "resolved without a settlement" in row["settlement_error"]

    no_reason = await client.post(f"/admin/orders/{order.public_id}/settle", headers=headers, json={"reason": " "})
    assert no_reason.status_code == 422, no_reason.text
    # after a fix (e.g. of the code that failed) an admin settles it again: the flag is cleared and the
    # settlement queued; it still refuses to run without the order's active hold, and flags it again
    retried = await client.post(
        f"/admin/orders/{order.public_id}/settle", headers=headers, json={"reason": "bug fixed"}
    )
    assert retried.status_code == 200, retried.text
    assert retried.json()["order"]["settlement_error"] is None
    async with world.session_factory() as session:
        queued = (await session.scalars(select(OutboxMessage.actor_name))).all()
    assert "ledger.settle" in queued
    assert await posting.settle_or_flag(world.session_factory, order.id) is None
    assert await balance(world.session_factory, L.trader_available(trader)) == available
    assert (await _order(world.session_factory, order.id)).settlement_error is not None

    settled_order = await world.process(await world.incoming(120_000, merchant_order_id="fine"))
    async with atomic(world.session_factory) as session:
        await change_status(
            session, settled_order.order_id, "completed", party=Party.TRADER, actor=SYSTEM, trader_id=trader
        )
    assert await posting.settle_or_flag(world.session_factory, settled_order.order_id) is not None
    settled_again = await client.post(
        f"/admin/orders/{settled_order.reference}/settle", headers=headers, json={"reason": "again"}
    )
    assert settled_again.status_code == 409, settled_again.text
