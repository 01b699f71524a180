from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update

from jivapay.adapters.db.models import (
    IncomingOrder,
    OrderHistory,
    Requisite,
    RequisiteDailyUsage,
)
from jivapay.adapters.db.uow import atomic
from jivapay.domain.ledger import posting as L
from jivapay.domain.orders.requisites import RequisiteDirection
from jivapay.domain.platform.audit import Actor
from tests.integration.conftest import World
from tests.integration.ledger.helpers import assert_ledger_sound, balance


async def _incoming_row(w: World, incoming_id: int) -> IncomingOrder:
    async with w.session_factory() as session:
        row = await session.get(IncomingOrder, incoming_id)
    assert row is not None
    return row


async def test_assignment_freezes_collateral_and_counts_usage(world: World) -> None:
    trader = await world.trader()
    requisite = await world.requisite(trader)
    incoming = await world.incoming(150_000, merchant_order_id="a1")
    outcome = await world.process(incoming)
    assert outcome.status == "assigned"
    async with world.session_factory() as session:
        order = await session.get(OrderHistory, outcome.order_id)
        req = await session.get(Requisite, requisite)
        usage = (await session.scalars(select(RequisiteDailyUsage))).one()
    assert order is not None
    assert req is not None
    assert (order.status, order.requisite_id, order.trader_id, order.amount) == (
        "pending_payment",
        requisite,
        trader,
        150_000,
    )
    assert order.rate == Decimal("90")
    split = L.payin_split(150_000, 2, Decimal("90"), order.store_commission, order.trader_commission)
    assert await balance(world.session_factory, L.trader_frozen(trader)) == split.trader_hold
    assert req.open_orders == 1
    assert (usage.turnover, usage.orders) == (150_000, 1)
    assert (await _incoming_row(world, incoming)).status == "assigned"
    # idempotent: a second delivery of the same message changes nothing
    assert (await world.process(incoming)).status == "unchanged"
    await assert_ledger_sound(world.session_factory)


@pytest.mark.parametrize(
    ("requisite", "trader", "incoming"),
    [
        ({"direction": RequisiteDirection.PAYOUT}, {}, {}),
        ({"currency": "KZT", "bank_id": 7}, {}, {}),
        ({"payment_method_id": 2}, {}, {}),
        ({"bank_id": 2}, {}, {"bank_id": 1}),
        ({"limits": {"min_amount": 200_000}}, {}, {}),
        ({"limits": {"max_amount": 100_000}}, {}, {}),
        ({"limits": {"daily_limit": 100_000}}, {}, {}),
        ({"limits": {"monthly_limit": 100_000}}, {}, {}),
        ({}, {"in_work": False}, {}),
        ({}, {"payin_enabled": False}, {}),
        ({}, {"collateral": 1_000_000}, {}),  # 1 USDT cannot cover a 1500 RUB pay-in
    ],
)
async def test_static_and_dynamic_filters(
    world: World, requisite: dict[str, Any], trader: dict[str, Any], incoming: dict[str, Any]
) -> None:
    trader_id = await world.trader(**trader)
    await world.requisite(trader_id, **requisite)
    outcome = await world.process(await world.incoming(150_000, merchant_order_id="f", **incoming))
    assert outcome.status == "retrying"
    assert "requisite_not_found" in (outcome.reason or "")


async def test_open_orders_and_orders_per_day_limits(world: World) -> None:
    trader = await world.trader()
    await world.requisite(trader, limits={"max_open_orders": 1})
    assert (await world.process(await world.incoming(100_000, merchant_order_id="o1"))).status == "assigned"
    assert (await world.process(await world.incoming(100_100, merchant_order_id="o2"))).status == "retrying"
    other = await world.trader()
    await world.requisite(other, limits={"orders_per_day": 1})
    assert (await world.process(await world.incoming(100_200, merchant_order_id="o3"))).status == "assigned"
    assert (await world.process(await world.incoming(100_300, merchant_order_id="o4"))).status == "retrying"


async def test_priority_then_round_robin(world: World) -> None:
    low = await world.trader(priority=50)
    high_a = await world.trader(priority=10)
    high_b = await world.trader(priority=10)
    reqs = {await world.requisite(t): t for t in (low, high_a, high_b)}
    chosen = []
    for n in range(4):
        outcome = await world.process(await world.incoming(100_000 + n * 1000, merchant_order_id=f"p{n}"))
        async with world.session_factory() as session:
            order = await session.get(OrderHistory, outcome.order_id)
        assert order is not None
        chosen.append(reqs[order.requisite_id])
    assert set(chosen[:2]) == {high_a, high_b}  # never the low-priority trader while others fit
    assert chosen[2] != chosen[1]
    assert low not in chosen


async def test_same_amount_twice_is_shifted_or_waits(world: World) -> None:
    trader = await world.trader()
    await world.requisite(trader)
    first = await world.process(await world.incoming(150_000, merchant_order_id="s1"))
    second = await world.process(await world.incoming(150_000, merchant_order_id="s2"))
    async with world.session_factory() as session:
        amounts = sorted(o.amount for o in (await session.scalars(select(OrderHistory))).all())
    assert (first.status, second.status) == ("assigned", "assigned")
    assert amounts == [150_000, 150_001]
    await world.configure(ALLOW_AMOUNT_SHIFT=False)
    third = await world.process(await world.incoming(150_000, merchant_order_id="s3"))
    assert third.status == "retrying"


async def test_retries_then_failed(world: World) -> None:
    await world.configure(MAX_ORDER_RETRIES=2, RETRY_BASE_DELAY_SECONDS=10)
    incoming = await world.incoming(150_000, merchant_order_id="r1")
    first = await world.process(incoming)
    row = await _incoming_row(world, incoming)
    assert (first.status, row.retry_count) == ("retrying", 1)
    assert row.next_attempt_at > row.last_attempt_at  # backoff
    async with atomic(world.session_factory) as session:  # make it due again
        await session.execute(
            update(IncomingOrder).where(IncomingOrder.id == incoming).values(next_attempt_at=row.last_attempt_at)
        )
    second = await world.process(incoming)
    row = await _incoming_row(world, incoming)
    assert (second.status, row.status, row.retry_count) == ("failed", "failed", 2)
    assert (await world.process(incoming)).status == "unchanged"


async def test_fraud_deny_and_review(world: World) -> None:
    trader = await world.trader()
    await world.requisite(trader)
    await world.configure(FRAUD_BLOCKED_CLIENT_IDS=["bad-client"], FRAUD_REVIEW_AMOUNT={"RUB": "1000.00"})
    denied = await world.process(await world.incoming(50_000, merchant_order_id="d1", client_id="bad-client"))
    assert denied.status == "rejected"
    assert "blocked_client_id" in (denied.reason or "")
    review = await world.process(await world.incoming(150_000, merchant_order_id="d2", client_id="ok"))
    assert review.status == "review"
    ok = await world.process(await world.incoming(50_000, merchant_order_id="d3", client_id="ok"))
    assert ok.status == "assigned"


async def test_concurrent_assignment_never_overbooks(world: World) -> None:
    await world.configure(MAX_ORDER_RETRIES=100)
    for _ in range(3):
        trader = await world.trader()
        await world.requisite(trader, limits={"max_open_orders": 2})
    incoming = [await world.incoming(100_000 + n * 100, merchant_order_id=f"c{n}") for n in range(20)]
    # rounds of concurrent workers; SKIP LOCKED makes some wait for the next round, never overbook
    for _ in range(6):
        outcomes = await asyncio.gather(*(world.process(i) for i in incoming), return_exceptions=True)
        errors = [o for o in outcomes if isinstance(o, BaseException)]
        assert not errors, [repr(e) + repr(e.__cause__) for e in errors]
    async with world.session_factory() as session:
        statuses = (await session.scalars(select(IncomingOrder.status))).all()
        opens = (await session.scalars(select(Requisite.open_orders).order_by(Requisite.id))).all()
        orders = (await session.scalars(select(OrderHistory))).all()
    assert sorted(statuses).count("assigned") == 6
    assert list(opens) == [2, 2, 2]
    assert len(orders) == 6
    await assert_ledger_sound(world.session_factory)


async def test_scheduler_job_and_worker_assign_due_orders(world: World, worker: Any) -> None:
    from jivapay.worker.scheduler import enqueue_due_orders_job

    trader = await world.trader()
    await world.requisite(trader)
    incoming = await world.incoming(150_000, merchant_order_id="w1")
    await enqueue_due_orders_job()
    for _ in range(100):
        if (await _incoming_row(world, incoming)).status == "assigned":
            break
        await asyncio.sleep(0.05)
    assert (await _incoming_row(world, incoming)).status == "assigned"


async def test_review_alerts_support_by_email(world: World, resources: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from jivapay.adapters.db.models import OutboxMessage
    from jivapay.worker.actors.platform import review_alert
    from tests.fixtures.smtp import SMTPReceiver

    await world.configure(FRAUD_REVIEW_AMOUNT={"RUB": "1000.00"})
    outcome = await world.process(await world.incoming(150_000, merchant_order_id="rv1", client_id="c"))
    assert outcome.status == "review"
    async with world.session_factory() as session:
        queued = (await session.scalars(select(OutboxMessage))).one()
    assert (queued.actor_name, queued.kwargs) == (
        "notifications.review_alert",
        {"incoming_order_id": outcome.incoming_order_id},
    )
    with SMTPReceiver() as smtp:
        monkeypatch.setattr(
            resources,
            "settings",
            resources.settings.with_overrides(
                smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_starttls="false", alert_emails="support@jivapay.local"
            ),
        )
        await review_alert.fn.__wrapped__(incoming_order_id=outcome.incoming_order_id)
        await review_alert.fn.__wrapped__(incoming_order_id=outcome.incoming_order_id)  # redelivered: sent once
        messages = await smtp.wait_for_async(1)
    assert len(messages) == 1
    assert messages[0]["To"] == "support@jivapay.local"
    assert "needs a fraud review" in messages[0]["Subject"]


async def test_a_priority_change_reaches_selection_at_once(world: World) -> None:
    from jivapay.services.identity.users import update_user

    first = await world.trader(priority=10)
    second = await world.trader(priority=20)
    await world.requisite(first)
    second_requisite = await world.requisite(second)
    async with atomic(world.session_factory) as session:
        await update_user(session, Actor.system("t"), second, changes={}, profile={"traffic_priority": 1})
    outcome = await world.process(await world.incoming(100_000, merchant_order_id="prio"))
    async with world.session_factory() as session:
        order = await session.get(OrderHistory, outcome.order_id)
    assert order is not None
    assert order.requisite_id == second_requisite
