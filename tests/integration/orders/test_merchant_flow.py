"""End to end over HTTP: a merchant's store and key, a pay-in and a pay-out through a real worker,
the customer's and the trader's confirmations, a verified callback, the exact balances.

Three steps are not HTTP: USDT deposits (they arrive over a chain), one operator setting
(the settings API is the staff issue's), and the scheduler, whose jobs are called in a loop
here to relay the outbox and hand due callbacks and deadlines to the worker.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from jivapay.adapters.db.uow import atomic
from jivapay.domain.identity.roles import Role
from jivapay.domain.ledger import posting as L
from jivapay.services.ledger import posting
from jivapay.worker.scheduler import enqueue_due_callbacks_job, enqueue_overdue_orders_job, relay_outbox_job
from tests.factories import bearer, make_user, token_for
from tests.fixtures.receiver import Receiver
from tests.integration.conftest import World
from tests.integration.ledger.helpers import assert_ledger_sound

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _verify(secret: str, header: str, body: bytes) -> bool:
    parts = [p.split("=", 1) for p in header.split(",")]
    t = next(v for k, v in parts if k == "t")
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(v, expected) for k, v in parts if k == "v1")


async def _until(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 20) -> None:
    """Run the scheduler's jobs until ``check`` holds."""
    for _ in range(int(seconds / 0.1)):
        await relay_outbox_job(100)
        await enqueue_due_callbacks_job()
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def test_payin_and_payout_end_to_end(world: World, client: Any, worker: Any, resources: Any) -> None:
    merchant = await make_user(world.session_factory, Role.MERCHANT)
    trader = await make_user(world.session_factory, Role.TRADER, profile={"in_work": True, "traffic_priority": 1})
    admin = await make_user(world.session_factory, Role.ADMIN)
    m = bearer(await token_for(client, Role.MERCHANT, merchant.login))
    t = bearer(await token_for(client, Role.TRADER, trader.login))
    a = bearer(await token_for(client, Role.ADMIN, admin.login))

    # the platform: a rate; the trader: a requisite and collateral (a deposit arrives over a chain)
    assert (await client.put("/admin/rates/RUB", json={"rate": "90"}, headers=a)).status_code in (200, 201)
    requisite = await client.post(
        "/trader/requisites",
        json={
            "type": "card",
            "bank_id": 1,
            "payment_method_id": 1,
            "currency": "RUB",
            "owner_name": "Ivan Petrov",
            "number": "4276160000000019",
        },
        headers=t,
    )
    assert requisite.status_code == 201, requisite.text
    async with atomic(world.session_factory) as session:
        await posting.credit_deposit(session, "trader", trader.id, "TRC20", 1_000 * 10**6, "e2e-collateral")

    # the merchant: a store, an API key, the signing secret
    store = await client.post("/merchant/stores", json={"name": "E2E shop"}, headers=m)
    assert store.status_code == 201
    store_id, secret = store.json()["store"]["id"], store.json()["signing_secret"]
    issued = await client.post(f"/merchant/stores/{store_id}/api-keys", json={"name": "prod"}, headers=m)
    api = {"X-API-Key": issued.json()["api_key"]}

    with Receiver() as receiver:
        # --- pay-in ------------------------------------------------------------------------
        init = await client.post(
            "/gateway/payin/init",
            json={
                "amount": "1800.00",
                "currency": "RUB",
                "payment_method": "card",
                "merchant_order_id": "e2e-in",
                "callback_url": receiver.url,
            },
            headers={**api, "Idempotency-Key": "e2e-in"},
        )
        assert init.status_code == 201, init.text
        payin_id, token = init.json()["id"], init.json()["order_token"]

        async def assigned() -> bool:
            view = await client.get(f"/gateway/payin/status/{payin_id}", headers={"X-Order-Token": token})
            return bool(view.json()["status"] == "pending_payment")

        await _until(assigned, "the worker to assign the pay-in")
        view = (await client.get(f"/gateway/payin/status/{payin_id}", headers={"X-Order-Token": token})).json()
        assert view["pay_amount"] == "1800.00"
        assert view["requisite"]["number"] == "4276160000000019"
        confirmed = await client.post(f"/gateway/payin/confirm/{payin_id}", headers={"X-Order-Token": token})
        assert confirmed.json()["status"] == "client_confirmed"
        orders = (await client.get("/trader/orders?status=client_confirmed", headers=t)).json()["data"]
        assert len(orders) == 1
        done = await client.post(f"/trader/orders/{orders[0]['id']}/confirm", headers=t)
        assert done.json()["status"] == "completed", done.text

        wanted = {"payin.pending_payment", "payin.client_confirmed", "payin.completed"}

        async def all_callbacks() -> bool:
            return {json.loads(r["body"])["type"] for r in receiver.requests} >= wanted

        await _until(all_callbacks, "the pay-in's callbacks")
        for request in receiver.requests:
            assert _verify(secret, request["headers"]["X-JivaPay-Signature"], request["body"])
        types = [json.loads(r["body"])["type"] for r in receiver.requests]
        assert set(types) == wanted

        # the store is credited exactly: 1800 RUB at 90 = 20 USDT, less the store's commission
        expected = L.payin_split(180_000, 2, Decimal("90"), Decimal("0.05"), Decimal("0.03"))

        async def credited() -> bool:
            rows = (await client.get("/merchant/balance", headers=m)).json()
            return bool(rows and rows[0]["available"] != "0.000000")

        await _until(credited, "the settlement")
        await _check_store_rates(world, expected, store_id, client, m)

        # --- pay-out -------------------------------------------------------------------------
        async with atomic(world.session_factory) as session:
            await posting.credit_deposit(session, "store", store_id, "TRC20", 100 * 10**6, "e2e-float")
        before = (await client.get("/merchant/balance", headers=m)).json()[0]
        out = await client.post(
            "/gateway/payout/init",
            json={
                "amount": "900.00",
                "currency": "RUB",
                "payment_method": "card",
                "merchant_order_id": "e2e-out",
                "recipient": {"number": "2200 0000 0000 0004", "name": "Anna Smirnova"},
                "callback_url": receiver.url,
            },
            headers=api,
        )
        assert out.status_code == 201, out.text
        payout_id = out.json()["id"]

        async def payout_assigned() -> bool:
            view = await client.get(f"/gateway/payout/status/{payout_id}", headers=api)
            return bool(view.json()["status"] == "pending")

        await _until(payout_assigned, "the worker to assign the pay-out")
        pending = (await client.get("/trader/orders?status=pending", headers=t)).json()["data"]
        order_id = pending[0]["id"]
        uploaded = await client.post(
            f"/trader/orders/{order_id}/receipts", headers=t, files={"data": ("paid.png", PNG, "image/png")}
        )
        assert uploaded.status_code == 201, uploaded.text
        # the merchant's window to dispute a paid pay-out: none here (an operator setting)
        await world.configure(PAYOUT_CONFIRMATION_TIMEOUT_MINUTES=0)
        paid = await client.post(f"/trader/orders/{order_id}/confirm", headers=t)
        assert paid.json()["status"] == "trader_paid"

        # the merchant does not dispute within the window: the system completes it
        async def payout_completed() -> bool:
            await enqueue_overdue_orders_job()
            view = await client.get(f"/gateway/payout/status/{payout_id}", headers=api)
            return bool(view.json()["status"] == "completed")

        await _until(payout_completed, "the pay-out to complete")
        await _until(_callback_of(receiver, "payout.completed"), "the payout.completed callback")
        split = L.payout_split(90_000, 2, Decimal("90"), Decimal("0.03"), Decimal("0.015"))

        async def store_debited() -> bool:
            after = (await client.get("/merchant/balance", headers=m)).json()[0]
            return bool(after["frozen"] == "0.000000")

        await _until(store_debited, "the pay-out settlement")
        after = (await client.get("/merchant/balance", headers=m)).json()[0]
        spent = Decimal(before["available"]) - Decimal(after["available"])
        assert spent == Decimal(split.store_hold) / 10**6
    await assert_ledger_sound(world.session_factory)


def _callback_of(receiver: Receiver, event_type: str) -> Callable[[], Awaitable[bool]]:
    async def seen() -> bool:
        return any(json.loads(r["body"])["type"] == event_type for r in receiver.requests)

    return seen


async def _check_store_rates(world: World, expected: Any, store_id: int, client: Any, m: dict[str, str]) -> None:
    rows = (await client.get("/merchant/balance", headers=m)).json()
    mine = next(r for r in rows if r["store_id"] == store_id)
    assert Decimal(mine["available"]) == Decimal(expected.store_credit) / 10**6
    assert mine["frozen"] == "0.000000"
