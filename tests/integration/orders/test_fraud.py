"""The fraud check in the processor: velocity counted in Redis (once per order), blocklists,
the unpaid-orders limit. Without a requisite an allowed order waits (`retrying`); a flagged one
goes to `review` and a denied one ends `rejected`."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from jivapay.adapters.db.orders.orders import OrderRepository
from jivapay.adapters.db.uow import atomic
from jivapay.domain.identity.roles import Role
from jivapay.domain.orders.fraud import Decision
from jivapay.services.orders.fraud import VELOCITY_PREFIX, assess_incoming_order
from tests.factories import make_store, make_user
from tests.integration.conftest import World

pytestmark = pytest.mark.redis


async def _assess(world: World, incoming_id: int) -> Decision:
    async with atomic(world.session_factory) as session:
        incoming = await OrderRepository(session).incoming(incoming_id)
        assert incoming is not None
        verdict, _ = await assess_incoming_order(session, incoming)
    return verdict.decision


@pytest.mark.parametrize(
    ("limit", "field", "value", "reason"),
    [
        ("FRAUD_VELOCITY_MAX_PER_CLIENT", "client_id", "client-7", "velocity_client"),
        ("FRAUD_VELOCITY_MAX_PER_IP", "client_ip", "198.51.100.23", "velocity_ip"),
        ("FRAUD_VELOCITY_MAX_PER_CARD", "client_card_bin", "22022012", "velocity_card"),
    ],
)
async def test_velocity_sends_the_order_over_the_limit_to_review(
    world: World, limit: str, field: str, value: str, reason: str
) -> None:
    await world.configure(**{limit: 2})
    outcomes = [
        await world.process(await world.incoming(100_000 + n, merchant_order_id=f"v{n}", **{field: value}))
        for n in range(3)
    ]
    assert [o.status for o in outcomes] == ["retrying", "retrying", "review"]
    assert reason in (outcomes[2].reason or "")
    # another client, IP or card has its own count
    other = "198.51.100.24" if field == "client_ip" else value[:-1] + "9"
    fresh = await world.process(await world.incoming(100_100, merchant_order_id="v-other", **{field: other}))
    assert fresh.status == "retrying"


async def test_an_order_assessed_again_and_again_counts_once(world: World) -> None:
    await world.configure(FRAUD_VELOCITY_MAX_PER_CLIENT=1)
    first = await world.incoming(100_000, merchant_order_id="once-1", client_id="c-1")
    assert [await _assess(world, first) for _ in range(3)] == [Decision.ALLOW] * 3
    second = await world.incoming(100_001, merchant_order_id="once-2", client_id="c-1")
    assert await _assess(world, second) == Decision.REQUIRE_MANUAL_REVIEW
    assert await _assess(world, first) == Decision.ALLOW  # its count is of the orders up to it


async def test_a_rolled_back_attempt_leaves_no_count_behind(world: World) -> None:
    """An attempt whose transaction fails after the fraud check (a database error, a crash) is
    delivered again with the same retry count: the order must not count twice."""
    await world.configure(FRAUD_VELOCITY_MAX_PER_CLIENT=1)
    incoming_id = await world.incoming(100_000, merchant_order_id="rb-1", client_id="c-2")
    for _ in range(2):
        with pytest.raises(RuntimeError):
            async with atomic(world.session_factory) as session:
                incoming = await OrderRepository(session).incoming(incoming_id, for_update=True)
                assert incoming is not None
                await assess_incoming_order(session, incoming)
                raise RuntimeError("the attempt failed after the fraud check")
    assert (await world.process(incoming_id)).status == "retrying"
    second = await world.process(await world.incoming(100_001, merchant_order_id="rb-2", client_id="c-2"))
    assert second.status == "review"


async def test_orders_older_than_the_window_no_longer_count(world: World, resources: Any) -> None:
    await world.configure(FRAUD_VELOCITY_MAX_PER_IP=1, FRAUD_VELOCITY_WINDOW_SECONDS=1)
    ip = "198.51.100.77"
    assert (await world.process(await world.incoming(100_000, merchant_order_id="w1", client_ip=ip))).status == (
        "retrying"
    )
    assert (await world.process(await world.incoming(100_001, merchant_order_id="w2", client_ip=ip))).status == (
        "review"
    )
    await asyncio.sleep(1.5)
    assert (await world.process(await world.incoming(100_002, merchant_order_id="w3", client_ip=ip))).status == (
        "retrying"
    )
    key = f"{VELOCITY_PREFIX}ip:{ip}"
    assert await resources.redis.zcard(key) == 1  # the two old orders were dropped
    assert 0 < await resources.redis.ttl(key) <= 61  # and the counter itself expires


async def test_client_velocity_is_counted_per_store(world: World) -> None:
    """A client id is the merchant's own: "customer-1" of two stores is two people."""
    await world.configure(FRAUD_VELOCITY_MAX_PER_CLIENT=1)
    other_store = await make_store(world.session_factory, (await make_user(world.session_factory, Role.MERCHANT)).id)
    mine = await world.process(await world.incoming(100_000, merchant_order_id="s1", client_id="customer-1"))
    theirs = await world.process(
        await world.incoming(100_001, merchant_order_id="s1", client_id="customer-1", store_id=other_store)
    )
    assert (mine.status, theirs.status) == ("retrying", "retrying")


async def test_a_blocked_card_bin_is_denied_by_the_processor(world: World) -> None:
    trader = await world.trader()
    await world.requisite(trader)
    await world.configure(FRAUD_BLOCKED_CARD_BINS=["427616"])
    denied = await world.process(await world.incoming(100_000, merchant_order_id="b1", client_card_bin="42761612"))
    assert denied.status == "rejected"
    assert "blocked_card_bin" in (denied.reason or "")
    allowed = await world.process(await world.incoming(100_100, merchant_order_id="b2", client_card_bin="42761712"))
    assert allowed.status == "assigned"


async def test_too_many_unpaid_orders_are_denied(world: World) -> None:
    trader = await world.trader()
    await world.requisite(trader)
    await world.configure(FRAUD_MAX_UNPAID_ORDERS_PER_CLIENT=1)
    first = await world.process(await world.incoming(100_000, merchant_order_id="u1", client_id="slow-payer"))
    assert first.status == "assigned"  # now unpaid: pending_payment
    second = await world.process(await world.incoming(100_100, merchant_order_id="u2", client_id="slow-payer"))
    assert second.status == "rejected"
    assert "too_many_unpaid_orders" in (second.reason or "")


async def test_the_card_bin_from_the_gateway_reaches_the_fraud_rules(world: World, client: Any) -> None:
    """The merchant passes the customer's BIN at init; a blocked one is rejected, a malformed one is a 422."""
    from jivapay.adapters.db.models import IncomingOrder, Store
    from tests.factories import make_api_key

    trader = await world.trader()
    await world.requisite(trader)
    await world.configure(FRAUD_BLOCKED_CARD_BINS=["427616"])
    async with world.session_factory() as session:
        store = await session.get(Store, world.store_id)
    assert store is not None
    _, key = await make_api_key(world.session_factory, store.merchant_id, world.store_id)
    body = {"amount": "1500.00", "currency": "RUB", "payment_method": "card", "merchant_order_id": "bin-1"}
    bad = await client.post(
        "/gateway/payin/init", headers={"X-API-Key": key}, json={**body, "client_card_bin": "4276-16"}
    )
    assert bad.status_code == 422, bad.text
    assert bad.json()["error"]["details"]["errors"][0]["field"] == "client_card_bin"
    created = await client.post(
        "/gateway/payin/init", headers={"X-API-Key": key}, json={**body, "client_card_bin": "42761612"}
    )
    assert created.status_code == 201, created.text
    async with world.session_factory() as session:
        incoming = (await session.scalars(select(IncomingOrder))).one()
    assert incoming.client_card_bin == "42761612"
    denied = await world.process(incoming.id)
    assert denied.status == "rejected"
    assert "blocked_card_bin" in (denied.reason or "")
