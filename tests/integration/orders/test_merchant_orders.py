"""The merchant cabinet's orders: filters, totals, pagination, detail, dispute, CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from jivapay.adapters.db.models import Store, User
from jivapay.adapters.db.uow import atomic
from jivapay.domain.identity.roles import Role
from jivapay.domain.orders.status import Party
from jivapay.domain.platform.audit import Actor
from jivapay.services.orders.status import change_status
from tests.factories import bearer, make_api_key, make_user, token_for
from tests.integration.conftest import World


async def _setup(world: World, client: Any) -> tuple[dict[str, str], dict[str, str]]:
    async with world.session_factory() as session:
        store = await session.get(Store, world.store_id)
        assert store is not None
        merchant = await session.get(User, store.merchant_id)
    assert merchant is not None
    _, key = await make_api_key(world.session_factory, merchant.id, world.store_id)
    return {"X-API-Key": key}, bearer(await token_for(client, Role.MERCHANT, merchant.login))


async def test_list_filter_totals_pages_detail_dispute_and_csv(world: World, client: Any) -> None:
    trader = await world.trader()
    await world.requisite(trader)
    api, cabinet = await _setup(world, client)
    ids = []
    for n, amount in enumerate(["1000.00", "2000.00", "3000.00"]):
        created = await client.post(
            "/gateway/payin/init",
            json={"amount": amount, "currency": "RUB", "payment_method": "card", "merchant_order_id": f"o{n}"},
            headers=api,
        )
        assert created.status_code == 201
        ids.append(created.json()["id"])
    first = await world.process(ids[0])
    async with atomic(world.session_factory) as session:
        await change_status(
            session, first.order_id, "completed", party=Party.TRADER, actor=Actor.user(trader), trader_id=trader
        )
    second = await world.process(ids[1])
    async with atomic(world.session_factory) as session:
        await change_status(
            session,
            second.order_id,
            "client_confirmed",
            party=Party.CUSTOMER,
            actor=Actor.system("c"),
            store_id=world.store_id,
        )

    everything = await client.get("/merchant/orders", headers=cabinet)
    assert everything.status_code == 200, everything.text
    page = everything.json()
    assert [o["id"] for o in page["data"]] == ids[::-1]
    assert [o["status"] for o in page["data"]] == ["processing", "client_confirmed", "completed"]
    assert page["totals"] == [
        {"currency": "RUB", "orders": 3, "amount": "6000.00", "completed_orders": 1, "completed_amount": "1000.00"}
    ]
    # filters and cursor pages
    done = (await client.get("/merchant/orders?status=completed", headers=cabinet)).json()
    assert [o["id"] for o in done["data"]] == [ids[0]]
    ranged = await client.get("/merchant/orders?currency=RUB&amount_min=1500.00&amount_max=3000.00", headers=cabinet)
    assert [o["id"] for o in ranged.json()["data"]] == [ids[2], ids[1]]
    one = (await client.get("/merchant/orders?limit=1", headers=cabinet)).json()
    assert (len(one["data"]), one["has_more"]) == (1, True)
    rest = (await client.get(f"/merchant/orders?limit=5&starting_after={one['data'][0]['id']}", headers=cabinet)).json()
    assert [o["id"] for o in rest["data"]] == [ids[1], ids[0]]
    by_ref = (await client.get("/merchant/orders?merchant_order_id=o2", headers=cabinet)).json()
    assert [o["id"] for o in by_ref["data"]] == [ids[2]]
    assert (await client.get("/merchant/orders?status=nonsense", headers=cabinet)).status_code == 422
    assert (await client.get("/merchant/orders?amount_min=1.00", headers=cabinet)).status_code == 422
    # detail with its status history; a dispute with a comment
    detail = (await client.get(f"/merchant/orders/{ids[1]}", headers=cabinet)).json()
    assert [h["to_status"] for h in detail["history"]] == ["client_confirmed"]
    short = await client.post(f"/merchant/orders/{ids[1]}/dispute", json={"comment": ""}, headers=cabinet)
    assert short.status_code == 422
    disputed = await client.post(
        f"/merchant/orders/{ids[1]}/dispute", json={"comment": "no money arrived"}, headers=cabinet
    )
    assert disputed.status_code == 200, disputed.text
    assert disputed.json()["status"] == "disputed"
    evidence = await client.post(
        f"/merchant/orders/{ids[1]}/evidence",
        files={"data": ("statement.pdf", b"%PDF-1.4 bank statement", "application/pdf")},
        headers=cabinet,
    )
    assert evidence.status_code == 201, evidence.text
    assert evidence.json()["content_type"] == "application/pdf"
    unassigned = await client.post(
        f"/merchant/orders/{ids[2]}/evidence",
        files={"data": ("statement.pdf", b"%PDF-1.4 x", "application/pdf")},
        headers=cabinet,
    )
    assert unassigned.status_code == 404
    illegal = await client.post(f"/merchant/orders/{ids[0]}/dispute", json={"comment": "late"}, headers=cabinet)
    assert illegal.status_code == 409  # completed cannot be disputed
    # another merchant sees none of it
    other = await make_user(world.session_factory, Role.MERCHANT)
    foreign = bearer(await token_for(client, Role.MERCHANT, other.login))
    assert (await client.get(f"/merchant/orders/{ids[1]}", headers=foreign)).status_code == 404
    assert (await client.get("/merchant/orders", headers=foreign)).json()["data"] == []
    # CSV of a date range
    now = dt.datetime.now(dt.UTC)
    exported = await client.get(
        "/merchant/orders.csv",
        params={
            "created_from": (now - dt.timedelta(days=1)).isoformat(),
            "created_to": (now + dt.timedelta(days=1)).isoformat(),
        },
        headers=cabinet,
    )
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["id"] for r in rows] == ids[::-1]
    assert rows[0]["status"] == "processing"
    too_long = await client.get(
        "/merchant/orders.csv",
        params={"created_from": "2020-01-01T00:00:00Z", "created_to": "2026-01-01T00:00:00Z"},
        headers=cabinet,
    )
    assert too_long.status_code == 422


async def test_store_update_pause_and_commissions(world: World, client: Any) -> None:
    from decimal import Decimal

    from jivapay.services.ledger.commissions import set_commission

    api, cabinet = await _setup(world, client)
    renamed = await client.patch(f"/merchant/stores/{world.store_id}", json={"name": "  New name "}, headers=cabinet)
    assert renamed.json() == {"id": world.store_id, "name": "New name", "is_active": True}
    assert (await client.patch(f"/merchant/stores/{world.store_id}", json={}, headers=cabinet)).status_code == 422
    paused = await client.patch(f"/merchant/stores/{world.store_id}", json={"is_active": False}, headers=cabinet)
    assert paused.json()["is_active"] is False
    assert (await client.get("/gateway/store", headers=api)).status_code == 401  # its keys stop at once
    await client.patch(f"/merchant/stores/{world.store_id}", json={"is_active": True}, headers=cabinet)
    assert (await client.get("/gateway/store", headers=api)).status_code == 200
    async with atomic(world.session_factory) as session:
        await set_commission(
            session,
            Actor.system("admin"),
            owner="store",
            owner_id=world.store_id,
            direction="payin",
            rate=Decimal("0.04"),
        )
    rates = (await client.get(f"/merchant/stores/{world.store_id}/commissions", headers=cabinet)).json()
    assert {(r["direction"], r["rate"], r["default"]) for r in rates} == {
        ("payin", "0.040000", False),
        ("payout", "0.03", True),
    }
    other = await make_user(world.session_factory, Role.MERCHANT)
    foreign = bearer(await token_for(client, Role.MERCHANT, other.login))
    assert (await client.get(f"/merchant/stores/{world.store_id}/commissions", headers=foreign)).status_code == 404
    assert (
        await client.patch(f"/merchant/stores/{world.store_id}", json={"name": "x"}, headers=foreign)
    ).status_code == 404
