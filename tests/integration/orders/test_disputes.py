"""Disputes as support works them (both outcomes, SLA, priority, one way to end whatever the route)
and the fraud review queue — over real PostgreSQL, Redis and the HTTP API, ledger checked after
each flow."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update

from jivapay.adapters.db.models import AuditLogEntry, IncomingOrder, OrderDispute, OrderHistory, Store
from jivapay.adapters.db.uow import atomic
from jivapay.domain.identity.roles import Role
from jivapay.domain.ledger import posting as L
from jivapay.domain.orders.status import Party
from jivapay.domain.platform.audit import Actor
from jivapay.services.ledger import posting
from jivapay.services.orders.status import change_status
from tests.factories import bearer, make_user, token_for
from tests.integration.conftest import World
from tests.integration.ledger.helpers import assert_ledger_sound, balance

PDF = ("statement.pdf", b"%PDF-1.4 bank statement", "application/pdf")


async def _disputed(world: World, trader: int, amount: int = 150_000, ref: str = "d") -> OrderHistory:
    """A pay-in the customer says they paid and the merchant disputes."""
    order = await world.assigned(amount, ref)
    async with atomic(world.session_factory) as session:
        merchant_id = (await session.get(Store, world.store_id)).merchant_id  # type: ignore[union-attr]
        await change_status(
            session,
            order.id,
            "client_confirmed",
            party=Party.CUSTOMER,
            actor=Actor.system("c"),
            store_id=world.store_id,
        )
        await change_status(
            session,
            order.id,
            "disputed",
            party=Party.MERCHANT,
            actor=Actor.user(merchant_id),
            reason="customer has a bank statement",
            merchant_id=merchant_id,
        )
    return order


async def _settle(world: World, order_id: int) -> None:
    async with atomic(world.session_factory) as session:
        await posting.settle_completed_order(session, order_id)


async def test_dispute_resolved_complete_settles_with_evidence(world: World, client: Any, support: Any) -> None:
    trader = await world.trader()
    await world.requisite(trader)
    order = await _disputed(world, trader)
    async with world.session_factory() as session:
        dispute = await session.get(OrderDispute, order.id)
    assert dispute is not None
    assert dispute.priority == "normal"  # 1500 RUB at 90 is ≈ 16.7 USDT, under DISPUTE_HIGH_PRIORITY_USDT
    assert dispute.sla_deadline - dispute.opened_at == dt.timedelta(minutes=120)
    assert (await world.order_hold(order.id)).status == "active"  # the collateral stays frozen

    queue = await client.get("/support/disputes", headers=support)
    assert queue.status_code == 200, queue.text
    [row] = queue.json()["data"]
    assert row["order"]["id"] == order.public_id
    assert row["dispute"]["overdue"] is False
    assert row["dispute"]["reason"] == "customer has a bank statement"
    assert row["order"]["merchant_order_id"] == "d"
    assert row["order"]["requisite_last4"]

    # completing needs evidence on file, and a comment
    no_evidence = await client.post(
        f"/support/disputes/{order.public_id}/resolve",
        headers=support,
        json={"outcome": "completed", "comment": "paid"},
    )
    assert no_evidence.status_code == 422, no_evidence.text
    assert no_evidence.json()["error"]["details"]["field"] == "evidence"
    no_comment = await client.post(
        f"/support/disputes/{order.public_id}/resolve", headers=support, json={"outcome": "completed", "comment": " "}
    )
    assert no_comment.status_code == 422
    upload = await client.post(f"/support/orders/{order.public_id}/evidence", headers=support, files={"data": PDF})
    assert upload.status_code == 201, upload.text
    receipt_id = upload.json()["id"]
    assert upload.json()["url"]

    resolved = await client.post(
        f"/support/disputes/{order.public_id}/resolve",
        headers=support,
        json={"outcome": "completed", "comment": "statement shows the payment"},
    )
    assert resolved.status_code == 200, resolved.text
    case = resolved.json()
    assert case["order"]["status"] == "completed"
    assert case["dispute"]["resolution"] == "completed"
    assert case["dispute"]["evidence"] == [receipt_id]
    assert case["history"][-1]["party"] == "support"
    assert case["history"][-1]["reason"] == "statement shows the payment"
    await _settle(world, order.id)
    assert (await world.order_hold(order.id)).status == "captured"
    await assert_ledger_sound(world.session_factory)
    store_usdt = await balance(world.session_factory, L.store_available(world.store_id))
    assert store_usdt > 0
    # resolved disputes leave the queue; a second resolution is refused
    assert (await client.get("/support/disputes", headers=support)).json()["data"] == []
    again = await client.post(
        f"/support/disputes/{order.public_id}/resolve", headers=support, json={"outcome": "canceled", "comment": "oops"}
    )
    assert again.status_code == 409
    async with world.session_factory() as session:
        actions = set((await session.scalars(select(AuditLogEntry.action))).all())
    assert {"dispute.resolve", "receipt.upload", "order.status"} <= actions


async def test_dispute_resolved_cancel_releases_the_collateral(world: World, client: Any, support: Any) -> None:
    trader = await world.trader()
    await world.requisite(trader)
    before = await balance(world.session_factory, L.trader_available(trader))
    order = await _disputed(world, trader, ref="c")
    assert await balance(world.session_factory, L.trader_available(trader)) < before
    bad = await client.post(
        f"/support/disputes/{order.public_id}/resolve", headers=support, json={"outcome": "expired", "comment": "nope"}
    )
    assert bad.status_code == 422
    resolved = await client.post(
        f"/support/disputes/{order.public_id}/resolve",
        headers=support,
        json={"outcome": "canceled", "comment": "no payment reached the trader"},
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["order"]["status"] == "canceled"
    assert (await world.order_hold(order.id)).status == "released"
    assert await balance(world.session_factory, L.trader_available(trader)) == before
    await assert_ledger_sound(world.session_factory)


async def test_dispute_priority_sla_and_overdue(world: World, client: Any, support: Any) -> None:
    trader = await world.trader()
    await world.requisite(trader, limits={})
    big = await _disputed(world, trader, amount=5_000_000, ref="big")  # 50 000 RUB ≈ 555 USDT: high
    small = await _disputed(world, trader, amount=150_000, ref="small")
    async with world.session_factory() as session:
        high = await session.get(OrderDispute, big.id)
    assert high is not None
    assert high.priority == "high"
    assert high.sla_deadline - high.opened_at == dt.timedelta(minutes=30)

    rows = (await client.get("/support/disputes", headers=support)).json()["data"]
    assert [r["order"]["id"] for r in rows] == [big.public_id, small.public_id]  # nearest deadline first
    page = await client.get("/support/disputes", headers=support, params={"limit": 1})
    assert page.json()["has_more"] is True
    rest = await client.get("/support/disputes", headers=support, params={"limit": 1, "starting_after": big.public_id})
    assert [r["order"]["id"] for r in rest.json()["data"]] == [small.public_id]

    lowered = await client.patch(f"/support/disputes/{big.public_id}", headers=support, json={"priority": "low"})
    assert lowered.status_code == 200, lowered.text
    assert dt.datetime.fromisoformat(lowered.json()["sla_deadline"]) == high.opened_at + dt.timedelta(minutes=480)
    assert (
        await client.patch(f"/support/disputes/{big.public_id}", headers=support, json={"priority": "x"})
    ).status_code == 422

    async with atomic(world.session_factory) as session:  # the small one ran out of time
        await session.execute(
            update(OrderDispute)
            .where(OrderDispute.order_id == small.id)
            .values(sla_deadline=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
        )
    overdue = (await client.get("/support/disputes", headers=support, params={"overdue_only": "true"})).json()["data"]
    assert [(r["order"]["id"], r["dispute"]["overdue"]) for r in overdue] == [(small.public_id, True)]
    high_only = await client.get("/support/disputes", headers=support, params={"priority": "high"})
    assert high_only.json()["data"] == []  # the big one is low now


async def test_fraud_review_approve_and_reject(world: World, client: Any, support: Any) -> None:
    trader = await world.trader()
    await world.requisite(trader)
    await world.configure(FRAUD_REVIEW_AMOUNT={"RUB": "1000.00"})
    first = await world.incoming(150_000, merchant_order_id="r1")
    second = await world.incoming(160_000, merchant_order_id="r2")
    assert (await world.process(first)).status == "review"
    assert (await world.process(second)).status == "review"

    first_ref, second_ref = await world.ref(first), await world.ref(second)
    queue = (await client.get("/support/reviews", headers=support)).json()
    assert [r["id"] for r in queue["data"]] == [first_ref, second_ref]
    assert "amount" in queue["data"][0]["reasons"]

    short = await client.post(f"/support/reviews/{first_ref}/approve", headers=support, json={"comment": ""})
    assert short.status_code == 422
    approved = await client.post(
        f"/support/reviews/{first_ref}/approve", headers=support, json={"comment": "called the customer"}
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "new"
    assert approved.json()["fraud_cleared_by"]
    # back to processing: the rule still fires, but a person cleared this order
    outcome = await world.process(first)
    assert outcome.status == "assigned", outcome

    rejected = await client.post(
        f"/support/reviews/{second_ref}/reject", headers=support, json={"comment": "stolen card"}
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    twice = await client.post(
        f"/support/reviews/{second_ref}/approve", headers=support, json={"comment": "changed mind"}
    )
    assert twice.status_code == 409
    assert twice.json()["error"]["details"] == {"order_id": second_ref, "status": "rejected"}  # no row ids
    assert (
        await client.post(f"/support/reviews/{first}/reject", headers=support, json={"comment": "x" * 5})
    ).status_code == 404
    assert (await world.process(second)).status == "unchanged"
    async with world.session_factory() as session:
        incoming = await session.get(IncomingOrder, second)
        actions = set((await session.scalars(select(AuditLogEntry.action))).all())
    assert incoming is not None
    assert incoming.status == "rejected"
    assert {"fraud.review_approve", "fraud.review_reject"} <= actions
    assert (await client.get("/support/reviews", headers=support)).json()["data"] == []


async def test_a_dispute_ends_one_way_whatever_the_route(world: World, client: Any, support: Any) -> None:
    """The generic status route cannot skip the dispute rules; an admin override records the dispute too."""
    trader = await world.trader()
    await world.requisite(trader)
    order = await _disputed(world, trader, ref="route")
    skip = await client.post(
        f"/support/orders/{order.public_id}/status", headers=support, json={"status": "completed", "reason": "trust me"}
    )
    assert skip.status_code == 422, skip.text  # no evidence on file
    assert (await world.order_hold(order.id)).status == "active"

    admin = await make_user(world.session_factory, Role.ADMIN)
    headers = bearer(await token_for(client, Role.ADMIN, admin.login))
    override = await client.post(
        f"/admin/orders/{order.public_id}/status",
        headers=headers,
        json={"status": "canceled", "reason": "fraud confirmed"},
    )
    assert override.status_code == 200, override.text
    dispute = override.json()["dispute"]
    assert (dispute["resolution"], dispute["resolution_comment"]) == ("canceled", "fraud confirmed")
    async with world.session_factory() as session:
        actions = list(
            (await session.scalars(select(AuditLogEntry.action).where(AuditLogEntry.target_id == str(order.id)))).all()
        )
    assert "dispute.resolve" in actions
    await assert_ledger_sound(world.session_factory)
