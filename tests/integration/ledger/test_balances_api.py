from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.uow import atomic
from jivapay.domain.identity.roles import AdminPermission, Role
from jivapay.domain.ledger import posting as L
from jivapay.services.ledger import posting
from tests.factories import bearer, make_store, make_user, token_for
from tests.integration.ledger.helpers import assert_ledger_sound, balance


async def _setup(client: Any, session_factory: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    merchant = await make_user(session_factory, Role.MERCHANT)
    trader = await make_user(session_factory, Role.TRADER)
    admin = await make_user(session_factory, Role.ADMIN)
    store_id = await make_store(session_factory, merchant.id, "Main")
    async with atomic(session_factory) as session:
        await posting.credit_deposit(session, "store", store_id, "TRC20", 12_500_000, "dep-1")
        await posting.credit_deposit(session, "trader", trader.id, "TRC20", 1_000_000, "dep-2")
        await posting.freeze(session, "trader", trader.id, 250_000, "order:1")
        await posting.post(
            session,
            idempotency_key="fiat-1",
            kind="settle_payin",
            legs=[L.Leg(L.external_fiat("RUB"), -150_000), L.Leg(L.trader_fiat(trader.id, "RUB", "payin"), 150_000)],
        )
    return {
        "merchant": bearer(await token_for(client, Role.MERCHANT, merchant.login)),
        "trader": bearer(await token_for(client, Role.TRADER, trader.login)),
        "admin": bearer(await token_for(client, Role.ADMIN, admin.login)),
        "store_id": store_id,
        "trader_id": trader.id,
    }


async def test_balances_are_decimal_strings_per_role(
    seeded: None, client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    w = await _setup(client, session_factory)
    merchant = (await client.get("/merchant/balance", headers=w["merchant"])).json()
    assert merchant == [
        {
            "store_id": w["store_id"],
            "name": "Main",
            "currency": "USDT",
            "available": "12.500000",
            "frozen": "0.000000",
            "total_deposited": "12.500000",
            "total_withdrawn": "0.000000",
        }
    ]
    trader = (await client.get("/trader/balance", headers=w["trader"])).json()
    assert trader == {
        "currency": "USDT",
        "available": "0.750000",
        "frozen": "0.250000",
        "fiat_turnover": [{"currency": "RUB", "direction": "payin", "amount": "1500.00"}],
        "total_deposited": "1.000000",
        "total_withdrawn": "0.000000",
    }
    admin = (await client.get("/admin/balances", headers=w["admin"])).json()
    assert {
        "owner_type": "store",
        "kind": "available",
        "currency": "USDT",
        "total": "12.500000",
        "accounts": 1,
    } in admin["totals"]


async def test_history_pages_and_filters(
    seeded: None, client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    w = await _setup(client, session_factory)
    page = (await client.get("/trader/balance/history", headers=w["trader"], params={"limit": 1})).json()
    assert page["has_more"] is True
    assert page["data"][0]["kind"] == "freeze"
    assert page["data"][0]["amount"] == "-0.250000"
    rest = (
        await client.get(
            "/trader/balance/history", headers=w["trader"], params={"starting_after": page["data"][0]["id"]}
        )
    ).json()
    assert [line["kind"] for line in rest["data"]] == ["deposit"]
    assert rest["has_more"] is False
    deposits = (await client.get("/trader/balance/history", headers=w["trader"], params={"kind": "deposit"})).json()
    assert len(deposits["data"]) == 1
    fiat = (
        await client.get(
            "/trader/balance/history",
            headers=w["trader"],
            params={"account": "fiat", "currency": "RUB", "direction": "payin"},
        )
    ).json()
    assert fiat["currency"] == "RUB"
    assert fiat["data"][0]["amount"] == "1500.00"
    bad = await client.get("/trader/balance/history", headers=w["trader"], params={"account": "fiat"})
    assert bad.status_code == 422
    store = (await client.get(f"/merchant/stores/{w['store_id']}/balance/history", headers=w["merchant"])).json()
    assert store["data"][0]["amount"] == "12.500000"


async def test_csv_export_streams_every_line(
    seeded: None, client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    w = await _setup(client, session_factory)
    async with atomic(session_factory) as session:
        for n in range(30):
            await posting.post(
                session,
                idempotency_key=f"t{n}",
                kind="transfer",
                legs=[L.Leg(L.store_available(w["store_id"]), -1000), L.Leg(L.platform_profit(), 1000)],
            )
    response = await client.get(f"/merchant/stores/{w['store_id']}/balance/history.csv", headers=w["merchant"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 31
    assert rows[-1]["kind"] == "deposit"
    profit = await client.get("/admin/balances/history.csv", headers=w["admin"])
    assert len(list(csv.DictReader(io.StringIO(profit.text)))) == 30


async def test_admin_adjustment_needs_reason_and_finances_permission(
    seeded: None, client: Any, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    w = await _setup(client, session_factory)
    body = {
        "owner_type": "trader",
        "owner_id": w["trader_id"],
        "amount": "-0.100000",
        "reason": "fee refund",
        "idempotency_key": "adj-1",
    }
    made = await client.post("/admin/ledger/adjustments", headers=w["admin"], json=body)
    assert made.status_code == 201
    assert await balance(session_factory, L.trader_available(w["trader_id"])) == 650_000
    again = await client.post("/admin/ledger/adjustments", headers=w["admin"], json=body)
    assert again.json()["replayed"] is True
    for bad in (
        {**body, "reason": " ", "idempotency_key": "x1"},
        {**body, "amount": "0.0000001", "idempotency_key": "x2"},
        {**body, "amount": 1.5, "idempotency_key": "x3"},
        {**body, "owner_type": "platform", "idempotency_key": "x4"},
    ):
        response = await client.post("/admin/ledger/adjustments", headers=w["admin"], json=bad)
        assert response.status_code == 422, bad
    overdraft = await client.post(
        "/admin/ledger/adjustments", headers=w["admin"], json={**body, "amount": "-100", "idempotency_key": "x5"}
    )
    assert overdraft.status_code == 409
    assert overdraft.json()["error"]["code"] == "insufficient_balance"
    ghost = await client.post(
        "/admin/ledger/adjustments", headers=w["admin"], json={**body, "owner_id": 999_999, "idempotency_key": "x6"}
    )
    assert ghost.status_code == 404
    limited = await make_user(session_factory, Role.ADMIN, permissions={AdminPermission.MANAGE_USERS})
    headers = bearer(await token_for(client, Role.ADMIN, limited.login))
    assert (await client.post("/admin/ledger/adjustments", headers=headers, json=body)).status_code == 403
    assert await balance(session_factory, L.trader_available(w["trader_id"])) == 650_000
    await assert_ledger_sound(session_factory)
