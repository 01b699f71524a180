"""The gateway over HTTP: init, status (long-poll), the customer's confirm, idempotency."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from sqlalchemy import func, select

from jivapay.adapters.db.models import IncomingOrder, Store
from jivapay.adapters.db.uow import atomic
from jivapay.domain.identity.roles import Role
from jivapay.domain.orders.status import is_order_reference
from tests.factories import incoming_of, make_api_key, make_user
from tests.integration.conftest import World

PAYIN = {"amount": "1500.00", "currency": "RUB", "payment_method": "card", "merchant_order_id": "m-1"}


async def _key(world: World) -> str:
    async with world.session_factory() as session:
        store = await session.get(Store, world.store_id)
    assert store is not None
    _, key = await make_api_key(world.session_factory, store.merchant_id, world.store_id)
    return key


def _assign_later(incoming_id: int) -> None:
    async def run() -> None:
        from jivapay.adapters.resources import close_resources, get_resources
        from jivapay.services.orders.processing import process_incoming_order

        await asyncio.sleep(1)
        outcome = await process_incoming_order(get_resources().session_factory, incoming_id)
        await close_resources()
        assert outcome.status == "assigned", outcome

    asyncio.run(run())


async def _count(world: World) -> int:
    async with world.session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(IncomingOrder)) or 0)


async def test_payin_init_assign_status_and_customer_confirm(world: World, client: Any) -> None:
    trader = await world.trader()
    await world.requisite(trader)
    headers = {"X-API-Key": await _key(world)}
    created = await client.post("/gateway/payin/init", json=PAYIN, headers=headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["status"], body["amount"], body["currency"], body["requisite"]) == (
        "processing",
        "1500.00",
        "RUB",
        None,
    )
    token = body["order_token"]
    # confirming before a requisite is assigned is refused
    early = await client.post(f"/gateway/payin/confirm/{body['id']}", headers={"X-Order-Token": token})
    assert (early.status_code, early.json()["error"]["code"]) == (409, "order_not_assigned")
    # a long-poll with no change answers after `wait` seconds
    started = time.monotonic()
    unchanged = await client.get(f"/gateway/payin/status/{body['id']}?wait=1", headers=headers)
    assert unchanged.json()["status"] == "processing"
    assert time.monotonic() - started >= 0.9
    # the worker assigns (another thread, as a worker process would) while the long-poll waits
    assert is_order_reference(body["id"])
    incoming = await incoming_of(world.session_factory, body["id"])
    worker = threading.Thread(target=_assign_later, args=(incoming.id,))
    worker.start()
    started = time.monotonic()
    status = await client.get(f"/gateway/payin/status/{body['id']}?wait=20", headers=headers)
    worker.join()
    assert time.monotonic() - started < 15  # answered on the change, not at the end of the wait
    assert status.status_code == 200, status.text
    view = status.json()
    assert view["status"] == "pending_payment"
    assert view["pay_amount"] == "1500.00"
    assert view["requisite"]["number"].isdigit()  # the full number: the customer pays to it
    assert view["requisite"]["owner_name"] == "Ivan P."  # masked
    # the customer's browser confirms with the order token, attaching the bank's receipt
    bad_file = await client.post(
        f"/gateway/payin/confirm/{body['id']}",
        headers={"X-Order-Token": token},
        files={"receipt": ("r.gif", b"GIF89a....", "image/gif")},
    )
    assert bad_file.status_code == 422
    confirmed = await client.post(
        f"/gateway/payin/confirm/{body['id']}",
        headers={"X-Order-Token": token},
        files={"receipt": ("paid.pdf", b"%PDF-1.4 receipt", "application/pdf")},
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "client_confirmed"
    async with world.session_factory() as session:
        from jivapay.adapters.db.models import Receipt

        receipt = (await session.scalars(select(Receipt))).one()
    assert (receipt.party, receipt.content_type) == ("customer", "application/pdf")
    # the token is good for this order only, and a key for another store sees nothing
    second = await client.post("/gateway/payin/init", json={**PAYIN, "merchant_order_id": "m-2"}, headers=headers)
    for reference in (second.json()["id"], str(incoming.id), "ord_" + "0" * 22):
        other = await client.get(f"/gateway/payin/status/{reference}", headers={"X-Order-Token": token})
        assert other.status_code == 401, reference
    merchant = await make_user(world.session_factory, Role.MERCHANT)
    from tests.factories import make_store

    foreign_store = await make_store(world.session_factory, merchant.id)
    _, foreign_key = await make_api_key(world.session_factory, merchant.id, foreign_store)
    foreign = await client.get(f"/gateway/payin/status/{body['id']}", headers={"X-API-Key": foreign_key})
    assert foreign.status_code == 404


async def test_idempotency_key_replays_conflicts_and_duplicates(world: World, client: Any) -> None:
    headers = {"X-API-Key": await _key(world), "Idempotency-Key": "k-1"}
    first = await client.post("/gateway/payin/init", json=PAYIN, headers=headers)
    assert first.status_code == 201
    replay = await client.post("/gateway/payin/init", json=PAYIN, headers=headers)
    assert replay.status_code == 201
    assert replay.content == first.content  # byte for byte
    assert replay.headers["idempotent-replayed"] == "true"
    changed = await client.post("/gateway/payin/init", json={**PAYIN, "amount": "1600.00"}, headers=headers)
    assert (changed.status_code, changed.json()["error"]["code"]) == (409, "idempotency_conflict")
    # a new key with the same merchant_order_id creates nothing either
    again = await client.post("/gateway/payin/init", json=PAYIN, headers={**headers, "Idempotency-Key": "k-2"})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "duplicate_merchant_order_id")
    assert again.json()["error"]["details"]["order_id"] == first.json()["id"]
    # and that 409 is itself replayed for k-2
    replayed_error = await client.post("/gateway/payin/init", json=PAYIN, headers={**headers, "Idempotency-Key": "k-2"})
    assert replayed_error.content == again.content
    assert await _count(world) == 1


async def test_concurrent_duplicates_create_one_order(world: World, client: Any) -> None:
    headers = {"X-API-Key": await _key(world), "Idempotency-Key": "same"}
    answers = await asyncio.gather(*(client.post("/gateway/payin/init", json=PAYIN, headers=headers) for _ in range(5)))
    # the duplicates' reservations wait for the first request's transaction, then replay its answer
    assert [a.status_code for a in answers] == [201] * 5
    assert len({a.content for a in answers}) == 1
    assert sorted(a.headers.get("idempotent-replayed", "") for a in answers) == ["", "true", "true", "true", "true"]
    assert await _count(world) == 1


async def test_bad_input_is_a_clear_422_and_changes_nothing(world: World, client: Any) -> None:
    headers = {"X-API-Key": await _key(world)}
    cases = [
        {**PAYIN, "amount": "15.001"},  # more decimals than RUB has
        {**PAYIN, "amount": "-5.00"},
        {**PAYIN, "amount": 1500.0},  # a float, not a decimal string
        {**PAYIN, "currency": "XXX"},
        {**PAYIN, "payment_method": "pigeon"},
        {**PAYIN, "unknown_field": 1},
        {**PAYIN, "callback_url": "ftp://merchant.example/cb"},
        {**PAYIN, "client_ip": "not-an-ip"},
        {k: v for k, v in PAYIN.items() if k != "merchant_order_id"},
    ]
    for case in cases:
        response = await client.post("/gateway/payin/init", json=case, headers=headers)
        assert response.status_code == 422, (case, response.text)
        assert response.json()["error"]["code"] == "validation_failed"
    payout = await client.post("/gateway/payout/init", json={**PAYIN, "merchant_order_id": "p"}, headers=headers)
    assert payout.status_code == 422  # no recipient
    assert await _count(world) == 0


async def test_payout_init_freezes_the_store_and_keeps_the_recipient_encrypted(world: World, client: Any) -> None:
    from jivapay.domain.ledger import posting as L
    from jivapay.services.ledger import posting
    from tests.integration.ledger.helpers import assert_ledger_sound, balance

    headers = {"X-API-Key": await _key(world)}
    body = {
        **PAYIN,
        "merchant_order_id": "po-1",
        "recipient": {"number": "4276 1600 0000 0001", "name": "Ivan Petrov"},
    }
    # the store has no USDT: refused at once, nothing created
    broke = await client.post("/gateway/payout/init", json=body, headers=headers)
    assert (broke.status_code, broke.json()["error"]["code"]) == (409, "insufficient_balance")
    assert await _count(world) == 0
    async with atomic(world.session_factory) as session:
        await posting.credit_deposit(session, "store", world.store_id, "TRC20", 100 * 10**6, "store-funds")
    created = await client.post("/gateway/payout/init", json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["recipient_last4"] == "0001"
    frozen_at_init = await balance(world.session_factory, L.store_frozen(world.store_id))
    assert frozen_at_init > 0
    async with atomic(world.session_factory) as session:
        incoming = await incoming_of(world.session_factory, created.json()["id"])
    assert incoming.recipient_encrypted is not None
    assert "Ivan" not in incoming.recipient_encrypted
    status = await client.get(f"/gateway/payout/status/{incoming.public_id}", headers=headers)
    assert status.json()["status"] == "processing"
    # a pay-out's status is not readable as a pay-in, nor by its internal row id
    assert (await client.get(f"/gateway/payin/status/{incoming.public_id}", headers=headers)).status_code == 404
    assert (await client.get(f"/gateway/payout/status/{incoming.id}", headers=headers)).status_code == 404
    # a trader takes it: the init hold becomes the order's hold (same rate and commission: same amount)
    trader = await world.trader()
    await world.requisite(trader)
    assert (await world.process(incoming.id)).status == "assigned"
    assert await balance(world.session_factory, L.store_frozen(world.store_id)) == frozen_at_init
    # a second pay-out that finds no trader fails and gives the store its USDT back
    await world.configure(MAX_ORDER_RETRIES=1)
    lonely = await client.post(
        "/gateway/payout/init", json={**body, "merchant_order_id": "po-2", "amount": "10.00"}, headers=headers
    )
    assert lonely.status_code == 201
    async with atomic(world.session_factory) as session:
        from sqlalchemy import update

        from jivapay.adapters.db.models import Requisite

        await session.execute(update(Requisite).values(is_active=False))
    assert (await world.process(lonely.json()["id"])).status == "failed"
    assert await balance(world.session_factory, L.store_frozen(world.store_id)) == frozen_at_init
    await assert_ledger_sound(world.session_factory)


async def test_order_ids_are_unrelated_references_and_row_ids_reach_nothing(world: World, client: Any) -> None:
    headers = {"X-API-Key": await _key(world)}
    first = (await client.post("/gateway/payin/init", json=PAYIN, headers=headers)).json()
    second = (
        await client.post("/gateway/payin/init", json={**PAYIN, "merchant_order_id": "m-2"}, headers=headers)
    ).json()
    assert is_order_reference(first["id"])
    assert is_order_reference(second["id"])
    # consecutive orders share no prefix worth the name and carry no row id
    shared = len([1 for a, b in zip(first["id"][4:], second["id"][4:], strict=True) if a == b])
    assert shared < 8
    incoming = await incoming_of(world.session_factory, second["id"])
    for bad in (str(incoming.id), "1", "ord_", "ord_" + "A" * 22, second["id"] + "x", "ord_" + "0" * 22):
        for path in (f"/gateway/payin/status/{bad}", f"/gateway/payout/status/{bad}"):
            response = await client.get(path, headers=headers)
            assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found"), (path, response.text)
        confirm = await client.post(f"/gateway/payin/confirm/{bad}", headers=headers)
        assert confirm.status_code == 404, bad
    # the same reference answers the status
    assert (await client.get(f"/gateway/payin/status/{second['id']}", headers=headers)).json()["id"] == second["id"]
