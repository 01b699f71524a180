from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select, update

from jivapay.adapters.db.models import (
    IncomingOrder,
    OrderHistory,
    OrderStatusChange,
    OutboxMessage,
    Requisite,
    RequisiteDailyUsage,
    RequisiteOpenAmount,
    Store,
)
from jivapay.adapters.db.uow import atomic
from jivapay.domain.errors import Conflict, PermissionDenied, ValidationFailed
from jivapay.domain.identity.roles import Role
from jivapay.domain.ledger import posting as L
from jivapay.domain.orders.status import Party
from jivapay.domain.platform.audit import Actor
from jivapay.services.ledger import posting
from jivapay.services.orders.status import change_status, expire_order
from jivapay.worker.broker import broker
from jivapay.worker.relay import relay_pending
from tests.factories import bearer, token_for
from tests.integration.conftest import World
from tests.integration.ledger.helpers import assert_ledger_sound, balance


async def _assigned(world: World, trader_id: int, amount: int = 150_000, ref: str = "x", **kw: Any) -> OrderHistory:
    outcome = await world.process(await world.incoming(amount, merchant_order_id=ref, **kw))
    assert outcome.status == "assigned", outcome
    async with world.session_factory() as session:
        order = await session.get(OrderHistory, outcome.order_id)
    assert order is not None
    return order


async def _order(world: World, order_id: int) -> OrderHistory:
    async with world.session_factory() as session:
        order = await session.get(OrderHistory, order_id)
    assert order is not None
    return order


async def test_trader_confirms_a_payin_and_it_settles_once(world: World, worker: Any) -> None:
    trader = await world.trader()
    requisite = await world.requisite(trader)
    order = await _assigned(world, trader)
    async with atomic(world.session_factory) as session:
        await change_status(
            session, order.id, "completed", party=Party.TRADER, actor=Actor.user(trader), trader_id=trader
        )
    async with world.session_factory() as session:
        req = await session.get(Requisite, requisite)
        usage = (await session.scalars(select(RequisiteDailyUsage))).one()
        opens = await session.scalar(select(func.count()).select_from(RequisiteOpenAmount))
        queued = (await session.scalars(select(OutboxMessage.actor_name))).all()
    assert req is not None
    assert (req.open_orders, usage.turnover, opens) == (0, 150_000, 0)
    assert list(queued) == ["ledger.settle"]
    # the settle message delivered twice still settles once
    await relay_pending(world.session_factory, broker, batch_size=10)
    async with atomic(world.session_factory) as session:
        again = await posting.settle_completed_order(session, order.id)
    split = L.payin_split(150_000, 2, order.rate, order.store_commission, order.trader_commission)
    assert await balance(world.session_factory, L.store_available(world.store_id)) == split.store_credit
    assert again.transaction_id  # replay or first: either way one settlement
    await assert_ledger_sound(world.session_factory)


async def test_cancel_and_expiry_release_the_hold_and_the_counters(world: World) -> None:
    trader = await world.trader()
    await world.requisite(trader)
    first = await _assigned(world, trader, 100_000, "c1")
    second = await _assigned(world, trader, 120_000, "c2")
    async with atomic(world.session_factory) as session:
        await change_status(
            session, first.id, "canceled", party=Party.TRADER, actor=Actor.user(trader), trader_id=trader
        )
    async with atomic(world.session_factory) as session:
        await session.execute(
            update(OrderHistory)
            .where(OrderHistory.id == second.id)
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
        )
    async with atomic(world.session_factory) as session:
        assert await expire_order(session, second.id) is not None
    async with atomic(world.session_factory) as session:
        assert await expire_order(session, second.id) is None  # already expired: nothing
    assert (await _order(world, first.id)).status == "canceled"
    assert (await _order(world, second.id)).status == "expired"
    assert await balance(world.session_factory, L.trader_frozen(trader)) == 0
    async with world.session_factory() as session:
        usage = (await session.scalars(select(RequisiteDailyUsage))).one()
        history = (await session.scalars(select(OrderStatusChange.to_status).order_by(OrderStatusChange.id))).all()
    assert (usage.turnover, usage.orders) == (0, 0)
    assert list(history) == ["canceled", "expired"]
    await assert_ledger_sound(world.session_factory)


async def test_illegal_moves_and_wrong_parties(world: World) -> None:
    trader = await world.trader()
    other = await world.trader()
    await world.requisite(trader)
    order = await _assigned(world, trader)
    async with world.session_factory() as session:
        store = await session.get(Store, world.store_id)
    assert store is not None
    cases: list[tuple[str, dict[str, Any], type[Exception]]] = [
        ("completed", {"party": Party.MERCHANT, "merchant_id": store.merchant_id}, PermissionDenied),
        ("trader_paid", {"party": Party.TRADER, "trader_id": trader}, Conflict),  # a pay-out status
        ("expired", {"party": Party.TRADER, "trader_id": trader}, PermissionDenied),
        ("canceled", {"party": Party.SUPPORT}, ValidationFailed),  # support must give a reason
    ]
    for target, kwargs, error in cases:
        with pytest.raises(error):
            async with atomic(world.session_factory) as session:
                await change_status(session, order.id, target, actor=Actor.system("t"), **kwargs)
    from jivapay.domain.errors import NotFound

    with pytest.raises(NotFound):
        async with atomic(world.session_factory) as session:
            await change_status(
                session, order.id, "completed", party=Party.TRADER, actor=Actor.user(other), trader_id=other
            )
    async with atomic(world.session_factory) as session:
        await change_status(
            session, order.id, "completed", party=Party.TRADER, actor=Actor.user(trader), trader_id=trader
        )
    with pytest.raises(Conflict) as info:
        async with atomic(world.session_factory) as session:
            await change_status(
                session, order.id, "canceled", party=Party.ADMIN, actor=Actor.user(1), reason="too late"
            )
    assert info.value.details["current_status"] == "completed"
    assert (await _order(world, order.id)).status == "completed"


async def test_declined_payout_goes_back_to_the_processor(world: World) -> None:
    trader = await world.trader()
    await world.requisite(trader)
    async with atomic(world.session_factory) as session:
        await posting.credit_deposit(session, "store", world.store_id, "TRC20", 100 * 10**6, "store-float")
    order = await _assigned(world, trader, 150_000, "po1", direction="payout")
    assert order.status == "pending"
    assert await balance(world.session_factory, L.store_frozen(world.store_id)) > 0
    async with atomic(world.session_factory) as session:
        await change_status(
            session, order.id, "declined", party=Party.TRADER, actor=Actor.user(trader), trader_id=trader
        )
    async with world.session_factory() as session:
        incoming = (await session.scalars(select(IncomingOrder))).one()
    assert (incoming.status, incoming.order_id) == ("retrying", None)
    # the store's funds stay frozen while the pay-out waits for another trader
    frozen = L.payout_split(150_000, 2, order.rate, order.store_commission, order.trader_commission).store_hold
    assert await balance(world.session_factory, L.store_frozen(world.store_id)) == frozen
    assert incoming.store_hold_reference == posting.payout_waiting_hold_reference(incoming.id, order.id)
    await assert_ledger_sound(world.session_factory)


async def test_trader_endpoints_and_traffic_switch(world: World, client: Any) -> None:
    from tests.factories import make_user

    trader_user = await make_user(world.session_factory, Role.TRADER, profile={"in_work": True})
    async with atomic(world.session_factory) as session:
        await posting.credit_deposit(session, "trader", trader_user.id, "TRC20", 10**10, "t-coll")
    await world.requisite(trader_user.id)
    headers = bearer(await token_for(client, Role.TRADER, trader_user.login))
    order = await _assigned(world, trader_user.id, 150_000, "h1")
    listed = (await client.get("/trader/orders", headers=headers)).json()
    assert [o["id"] for o in listed["data"]] == [order.public_id]
    assert listed["data"][0]["amount"] == "1500.00"
    confirmed = await client.post(f"/trader/orders/{order.public_id}/confirm", headers=headers)
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "completed"
    again = await client.post(f"/trader/orders/{order.public_id}/cancel", headers=headers, json={})
    assert again.status_code == 409
    assert again.json()["error"]["details"]["current_status"] == "completed"
    # traffic off: selection skips this trader at once
    assert (await client.put("/trader/traffic", headers=headers, json={"in_work": False})).status_code == 200
    outcome = await world.process(await world.incoming(90_000, merchant_order_id="h2"))
    assert outcome.status == "retrying"
    assert (await client.put("/trader/traffic", headers=headers, json={"in_work": True})).status_code == 200
    outcome = await world.process(await world.incoming(91_000, merchant_order_id="h3"))
    assert outcome.status == "assigned"


async def _past_deadline(world: World, order_id: int) -> None:
    async with atomic(world.session_factory) as session:
        await session.execute(
            update(OrderHistory)
            .where(OrderHistory.id == order_id)
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )


async def test_unconfirmed_payin_goes_to_dispute_and_support_is_emailed(
    world: World, resources: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jivapay.worker.actors.platform import order_alert
    from tests.fixtures.smtp import SMTPReceiver

    await world.configure(PAYIN_CONFIRMATION_TIMEOUT_MINUTES=15)
    trader = await world.trader()
    await world.requisite(trader)
    order = await _assigned(world, trader, 150_000, "d1")
    async with atomic(world.session_factory) as session:
        await change_status(
            session,
            order.id,
            "client_confirmed",
            party=Party.CUSTOMER,
            actor=Actor.system("c"),
            store_id=world.store_id,
        )
    confirmed = await _order(world, order.id)
    assert confirmed.expires_at is not None
    window = confirmed.expires_at - dt.datetime.now(dt.UTC)
    assert dt.timedelta(minutes=14) < window <= dt.timedelta(minutes=15)  # the trader's window, not the customer's
    async with atomic(world.session_factory) as session:
        assert await expire_order(session, order.id) is None  # not due yet
    await _past_deadline(world, order.id)
    async with atomic(world.session_factory) as session:
        assert await expire_order(session, order.id) is not None
    disputed = await _order(world, order.id)
    assert disputed.status == "disputed"
    # the collateral stays frozen while support decides
    assert await balance(world.session_factory, L.trader_frozen(trader)) > 0
    async with world.session_factory() as session:
        change = (await session.scalars(select(OrderStatusChange).order_by(OrderStatusChange.id.desc()))).first()
        queued = (await session.scalars(select(OutboxMessage).where(OutboxMessage.actor_name.like("notif%")))).all()
    assert change is not None
    assert (change.party, change.to_status) == ("system", "disputed")
    assert "did not confirm" in (change.reason or "")
    assert [(m.actor_name, m.kwargs) for m in queued] == [
        ("notifications.order_alert", {"order_id": order.id, "kind": "dispute"})
    ]
    with SMTPReceiver() as smtp:
        monkeypatch.setattr(
            resources,
            "settings",
            resources.settings.with_overrides(
                smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_starttls="false", alert_emails="support@jivapay.local"
            ),
        )
        await order_alert.fn.__wrapped__(order_id=order.id, kind="dispute")
        await order_alert.fn.__wrapped__(order_id=order.id, kind="dispute")  # redelivered: sent once
        messages = await smtp.wait_for_async(1)
    assert len(messages) == 1
    assert f"Order {order.public_id} is disputed" in messages[0]["Subject"]
    await assert_ledger_sound(world.session_factory)


async def test_paid_payout_completes_when_the_merchant_does_not_dispute(world: World) -> None:
    trader = await world.trader()
    await world.requisite(trader)
    async with atomic(world.session_factory) as session:
        await posting.credit_deposit(session, "store", world.store_id, "TRC20", 1_000 * 10**6, "store-funds")
    order = await _assigned(world, trader, 90_000, "p1", direction="payout")
    async with atomic(world.session_factory) as session:
        await change_status(
            session, order.id, "trader_paid", party=Party.TRADER, actor=Actor.user(trader), trader_id=trader
        )
    await _past_deadline(world, order.id)
    async with atomic(world.session_factory) as session:
        assert await expire_order(session, order.id) is not None
    completed = await _order(world, order.id)
    assert completed.status == "completed"
    async with world.session_factory() as session:
        queued = (await session.scalars(select(OutboxMessage.actor_name))).all()
    assert "ledger.settle" in queued
