"""One order, one public reference (``ord_…``): the gateway, the merchant's cabinet and CSV,
callbacks, the trader and support all show it and take it in paths; row ids reach nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from sqlalchemy import select

from jivapay.adapters.db.models import CallbackEvent, OrderHistory, Store, User
from jivapay.adapters.db.uow import atomic
from jivapay.domain.identity.roles import Role
from jivapay.domain.orders.status import is_order_reference, new_order_reference
from jivapay.services.ledger import posting
from tests.factories import MadeUser, bearer, incoming_of, make_api_key, make_user, token_for
from tests.integration.conftest import World

PAYOUT = {
    "amount": "900.00",
    "currency": "RUB",
    "payment_method": "card",
    "recipient": {"number": "2200 0000 0000 0004", "name": "Anna Smirnova"},
    "callback_url": "https://merchant.example/jivapay/callback",
}
PAYIN = {"amount": "1500.00", "currency": "RUB", "payment_method": "card", "merchant_order_id": "ref-in"}


async def _trader(world: World, priority: int) -> MadeUser:
    trader = await make_user(
        world.session_factory, Role.TRADER, profile={"in_work": True, "traffic_priority": priority}
    )
    async with atomic(world.session_factory) as session:
        await posting.credit_deposit(session, "trader", trader.id, "TRC20", 10**10, f"collateral-{trader.id}")
    await world.requisite(trader.id)
    return trader


async def _merchant(world: World, client: Any) -> tuple[dict[str, str], dict[str, str]]:
    async with world.session_factory() as session:
        store = await session.get(Store, world.store_id)
        owner = await session.get(User, store.merchant_id) if store else None
    assert owner is not None
    _, key = await make_api_key(world.session_factory, owner.id, world.store_id)
    return {"X-API-Key": key}, bearer(await token_for(client, Role.MERCHANT, owner.login))


async def test_every_role_every_export_and_every_callback_shows_the_same_reference(world: World, client: Any) -> None:
    trader = await _trader(world, priority=1)
    t = bearer(await token_for(client, Role.TRADER, trader.login))
    support = await make_user(world.session_factory, Role.SUPPORT)
    s = bearer(await token_for(client, Role.SUPPORT, support.login))
    api, m = await _merchant(world, client)
    created = await client.post(
        "/gateway/payin/init", json={**PAYIN, "callback_url": "https://merchant.example/cb"}, headers=api
    )
    assert created.status_code == 201, created.text
    reference = created.json()["id"]
    assert is_order_reference(reference)
    outcome = await world.process(reference)
    assert (outcome.status, outcome.reference) == ("assigned", reference)
    async with world.session_factory() as session:
        order = await session.get(OrderHistory, outcome.order_id)
    assert order is not None
    assert order.public_id == reference  # copied at assignment

    # the gateway, the cabinet (detail, list, CSV), the trader (detail, list) and support (case, search)
    assert (await client.get(f"/gateway/payin/status/{reference}", headers=api)).json()["id"] == reference
    assert (await client.get(f"/merchant/orders/{reference}", headers=m)).json()["order"]["id"] == reference
    assert [o["id"] for o in (await client.get("/merchant/orders", headers=m)).json()["data"]] == [reference]
    today = dt.datetime.now(dt.UTC).date()
    exported = await client.get(
        "/merchant/orders.csv",
        headers=m,
        params={"created_from": f"{today}T00:00:00Z", "created_to": f"{today + dt.timedelta(days=1)}T00:00:00Z"},
    )
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["id"] for r in rows] == [reference]
    assert (await client.get(f"/trader/orders/{reference}", headers=t)).json()["id"] == reference
    assert [o["id"] for o in (await client.get("/trader/orders", headers=t)).json()["data"]] == [reference]
    case = await client.get(f"/support/orders/{reference}", headers=s)
    assert case.status_code == 200, case.text
    assert case.json()["order"]["id"] == reference
    assert "incoming_order_id" not in case.json()["order"]
    found = await client.get("/support/orders", headers=s, params={"order_id": reference})
    assert [o["id"] for o in found.json()["data"]] == [reference]
    other = await client.get("/support/orders", headers=s, params={"order_id": new_order_reference()})
    assert other.json()["data"] == []
    malformed = await client.get("/support/orders", headers=s, params={"order_id": str(order.id)})
    assert malformed.status_code == 422
    # the callback carries it, and the merchant's event list names the order by it
    async with world.session_factory() as session:
        events = (await session.scalars(select(CallbackEvent))).all()
    assert [e.payload["order"]["id"] for e in events] == [reference]
    listed = await client.get(f"/merchant/stores/{world.store_id}/callbacks", headers=m)
    assert [c["order_id"] for c in listed.json()["data"]] == [reference]

    # row ids, malformed and unknown references are a 404 for every role
    incoming = await incoming_of(world.session_factory, reference)
    for bad in (str(incoming.id), str(order.id), "ord_x", new_order_reference(), reference.upper()):
        for path, headers in (
            (f"/gateway/payin/status/{bad}", api),
            (f"/merchant/orders/{bad}", m),
            (f"/trader/orders/{bad}", t),
            (f"/support/orders/{bad}", s),
        ):
            response = await client.get(path, headers=headers)
            assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found"), (path, response)


async def test_a_declined_payout_keeps_its_reference_and_each_trader_sees_their_own(world: World, client: Any) -> None:
    first = await _trader(world, priority=1)  # served first
    second = await _trader(world, priority=2)
    t1 = bearer(await token_for(client, Role.TRADER, first.login))
    t2 = bearer(await token_for(client, Role.TRADER, second.login))
    support = await make_user(world.session_factory, Role.SUPPORT)
    s = bearer(await token_for(client, Role.SUPPORT, support.login))
    api, m = await _merchant(world, client)
    async with atomic(world.session_factory) as session:
        await posting.credit_deposit(session, "store", world.store_id, "TRC20", 100 * 10**6, "store-funds")
    created = await client.post("/gateway/payout/init", json={**PAYOUT, "merchant_order_id": "po-ref"}, headers=api)
    assert created.status_code == 201, created.text
    reference = created.json()["id"]
    assert (await world.process(reference)).status == "assigned"
    # the second trader cannot reach the first one's order
    assert (await client.get(f"/trader/orders/{reference}", headers=t2)).status_code == 404

    declined = await client.post(f"/trader/orders/{reference}/cancel", json={"reason": "no funds"}, headers=t1)
    assert (declined.status_code, declined.json()["status"]) == (200, "declined"), declined.text
    again = await world.process(reference)
    assert (again.status, again.reference) == ("assigned", reference)

    async with world.session_factory() as session:
        rows = (
            await session.scalars(
                select(OrderHistory).where(OrderHistory.public_id == reference).order_by(OrderHistory.id)
            )
        ).all()
    assert [(r.trader_id, r.status) for r in rows] == [(first.id, "declined"), (second.id, "pending")]
    # the merchant still has one order under the one reference
    assert (await client.get(f"/gateway/payout/status/{reference}", headers=api)).json()["status"] == "pending"
    assert (await client.get(f"/merchant/orders/{reference}", headers=m)).json()["order"]["id"] == reference
    # each trader sees the one that was theirs
    mine1 = (await client.get(f"/trader/orders/{reference}", headers=t1)).json()
    mine2 = (await client.get(f"/trader/orders/{reference}", headers=t2)).json()
    assert (mine1["id"], mine1["status"]) == (reference, "declined")
    assert (mine2["id"], mine2["status"]) == (reference, "pending")
    # support reaches the live one; the search lists both under the one reference
    case = (await client.get(f"/support/orders/{reference}", headers=s)).json()
    assert (case["order"]["status"], case["order"]["trader_id"]) == ("pending", second.id)
    found = (await client.get("/support/orders", headers=s, params={"order_id": reference})).json()["data"]
    assert sorted((o["id"], o["status"]) for o in found) == [(reference, "declined"), (reference, "pending")]
