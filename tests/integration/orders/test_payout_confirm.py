"""The merchant confirms a pay-out the trader marked paid (trader_paid → completed), through the
cabinet or the gateway: idempotent, audited, with its callback and its settlement."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from jivapay.adapters.db.models import AuditLogEntry, CallbackEvent, IncomingOrder, OrderHistory, Store, User
from jivapay.adapters.db.uow import atomic
from jivapay.domain.identity.roles import Role
from jivapay.domain.ledger import posting as L
from jivapay.services.ledger import posting
from jivapay.worker.scheduler import relay_outbox_job
from tests.factories import MadeUser, bearer, make_api_key, make_store, make_user, token_for
from tests.integration.conftest import World
from tests.integration.ledger.helpers import assert_ledger_sound, balance

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PAYOUT = {
    "amount": "900.00",
    "currency": "RUB",
    "payment_method": "card",
    "recipient": {"number": "2200 0000 0000 0004", "name": "Anna Smirnova"},
    "callback_url": "https://merchant.example/jivapay/callback",
}


class Parties:
    def __init__(self, world: World, client: Any, merchant: MadeUser, trader: MadeUser) -> None:
        self.world, self.client = world, client
        self.merchant, self.trader = merchant, trader
        self.api: dict[str, str] = {}
        self.m: dict[str, str] = {}
        self.t: dict[str, str] = {}

    async def sign_in(self) -> None:
        _, key = await make_api_key(self.world.session_factory, self.merchant.id, self.world.store_id)
        self.api = {"X-API-Key": key}
        self.m = bearer(await token_for(self.client, Role.MERCHANT, self.merchant.login))
        self.t = bearer(await token_for(self.client, Role.TRADER, self.trader.login))

    async def payout(self, merchant_order_id: str) -> tuple[str, int]:
        """A pay-out assigned to the trader: (its public reference, the assigned order's row id)."""
        created = await self.client.post(
            "/gateway/payout/init", json={**PAYOUT, "merchant_order_id": merchant_order_id}, headers=self.api
        )
        assert created.status_code == 201, created.text
        outcome = await self.world.process(created.json()["id"])
        assert outcome.status == "assigned", outcome
        return created.json()["id"], outcome.order_id

    async def trader_pays(self, order_id: str) -> None:
        uploaded = await self.client.post(
            f"/trader/orders/{order_id}/receipts", headers=self.t, files={"data": ("paid.png", PNG, "image/png")}
        )
        assert uploaded.status_code == 201, uploaded.text
        paid = await self.client.post(f"/trader/orders/{order_id}/confirm", headers=self.t)
        assert paid.json()["status"] == "trader_paid", paid.text


async def _parties(world: World, client: Any) -> Parties:
    async with world.session_factory() as session:
        store = await session.get(Store, world.store_id)
        owner = await session.get(User, store.merchant_id) if store else None
    assert owner is not None
    merchant = MadeUser(owner.id, owner.login, Role.MERCHANT)
    trader = await make_user(world.session_factory, Role.TRADER, profile={"in_work": True})
    async with atomic(world.session_factory) as session:
        await posting.credit_deposit(session, "trader", trader.id, "TRC20", 10**10, "collateral")
        await posting.credit_deposit(session, "store", world.store_id, "TRC20", 100 * 10**6, "store-funds")
    await world.requisite(trader.id)
    parties = Parties(world, client, merchant, trader)
    await parties.sign_in()
    return parties


async def _events(world: World, reference: str) -> list[str]:
    async with world.session_factory() as session:
        stmt = (
            select(CallbackEvent.type)
            .join(IncomingOrder, IncomingOrder.id == CallbackEvent.incoming_order_id)
            .where(IncomingOrder.public_id == reference)
        )
        return list((await session.scalars(stmt.order_by(CallbackEvent.sequence))).all())


async def _completions(world: World, order_id: int) -> list[AuditLogEntry]:
    async with world.session_factory() as session:
        stmt = select(AuditLogEntry).where(
            AuditLogEntry.action == "order.status", AuditLogEntry.target_id == str(order_id)
        )
        return [e for e in (await session.scalars(stmt)).all() if e.details["to"] == "completed"]


async def test_gateway_confirm_completes_settles_and_replays(world: World, client: Any, worker: Any) -> None:
    p = await _parties(world, client)
    gateway_id, order_id = await p.payout("po-gw")
    url = f"/gateway/payout/confirm/{gateway_id}"

    # not paid yet: the trader has not said so
    early = await client.post(url, headers=p.api)
    assert (early.status_code, early.json()["error"]["code"]) == (409, "conflict")
    assert early.json()["error"]["details"]["current_status"] == "pending"
    await p.trader_pays(gateway_id)

    confirmed = await client.post(url, headers={**p.api, "Idempotency-Key": "confirm-1"})
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["id"], confirmed.json()["status"]) == (gateway_id, "completed")
    # the same key: the same answer, byte for byte
    replay = await client.post(url, headers={**p.api, "Idempotency-Key": "confirm-1"})
    assert (replay.status_code, replay.content) == (200, confirmed.content)
    assert replay.headers["idempotent-replayed"] == "true"
    # a new key after completion: 200 with the same order, not 409
    again = await client.post(url, headers={**p.api, "Idempotency-Key": "confirm-2"})
    assert (again.status_code, again.json()["status"]) == (200, "completed")
    assert again.json() == confirmed.json()
    cabinet = await client.post(f"/merchant/orders/{gateway_id}/confirm", headers=p.m)
    assert (cabinet.status_code, cabinet.json()["status"]) == (200, "completed")

    # audited once, as the store's key, by the merchant party
    [entry] = await _completions(world, order_id)
    assert (entry.actor_type, entry.actor_id) == ("store", str(world.store_id))
    assert (entry.details["from"], entry.details["party"]) == ("trader_paid", "merchant")
    # one callback for it
    assert (await _events(world, gateway_id))[-1:] == ["payout.completed"]
    assert (await _events(world, gateway_id)).count("payout.completed") == 1

    # settled through the outbox and a real worker: the store's hold is spent, the trader is paid
    for _ in range(200):
        await relay_outbox_job(100)
        if await balance(world.session_factory, L.store_frozen(world.store_id)) == 0:
            break
        await asyncio.sleep(0.1)
    assert await balance(world.session_factory, L.store_frozen(world.store_id)) == 0
    await assert_ledger_sound(world.session_factory)


async def test_cabinet_confirm_and_what_it_refuses(world: World, client: Any) -> None:
    p = await _parties(world, client)
    gateway_id, order_id = await p.payout("po-cab")
    await p.trader_pays(gateway_id)
    url = f"/merchant/orders/{gateway_id}/confirm"

    # another merchant, another store's key: the order does not exist for them
    stranger = await make_user(world.session_factory, Role.MERCHANT)
    foreign_store = await make_store(world.session_factory, stranger.id)
    _, foreign_key = await make_api_key(world.session_factory, stranger.id, foreign_store)
    s = bearer(await token_for(client, Role.MERCHANT, stranger.login))
    assert (await client.post(url, headers=s)).status_code == 404
    gateway_url = f"/gateway/payout/confirm/{gateway_id}"
    assert (await client.post(gateway_url, headers={"X-API-Key": foreign_key})).status_code == 404

    confirmed = await client.post(url, headers=p.m)
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["id"], confirmed.json()["status"]) == (gateway_id, "completed")
    repeat = await client.post(url, headers=p.m)
    assert (repeat.status_code, repeat.json()["status"]) == (200, "completed")
    [entry] = await _completions(world, order_id)
    assert (entry.actor_type, entry.actor_id, entry.details["party"]) == ("user", str(p.merchant.id), "merchant")
    assert (await _events(world, gateway_id)).count("payout.completed") == 1
    # the trader's view of the ended order no longer shows the recipient in full
    ended = (await client.get(f"/trader/orders/{gateway_id}", headers=p.t)).json()
    assert ended["id"] == gateway_id  # one reference for the merchant and the trader
    assert (ended["recipient"]["number"], ended["recipient"]["revealed"]) == ("**** 0004", False)

    # not yet assigned: 409 order_not_assigned (the cabinet and the gateway alike)
    waiting = await client.post("/gateway/payout/init", json={**PAYOUT, "merchant_order_id": "po-w"}, headers=p.api)
    for path, headers in (
        (f"/merchant/orders/{waiting.json()['id']}/confirm", p.m),
        (f"/gateway/payout/confirm/{waiting.json()['id']}", p.api),
    ):
        refused = await client.post(path, headers=headers)
        assert (refused.status_code, refused.json()["error"]["code"]) == (409, "order_not_assigned"), path
    # a pay-in is not confirmed this way
    payin = await world.process(await world.incoming(150_000, merchant_order_id="in-1"))
    assert payin.status == "assigned"
    async with world.session_factory() as session:
        order = await session.get(OrderHistory, payin.order_id)
    assert order is not None
    assert order.incoming_order_id is not None
    for path, headers in (
        (f"/merchant/orders/{order.public_id}/confirm", p.m),
        (f"/gateway/payout/confirm/{order.public_id}", p.api),
    ):
        refused = await client.post(path, headers=headers)
        assert (refused.status_code, refused.json()["error"]["details"]) == (409, {"direction": "payin"}), path
