"""A pay-out's recipient: checked per payment method at init, revealed to the assigned trader
only while the order is open (every read audited), masked in lists and once the order ends."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from jivapay.adapters.db.models import AuditLogEntry, IncomingOrder, Store
from jivapay.adapters.db.uow import atomic
from jivapay.adapters.security import decrypt_secret
from jivapay.domain.identity.roles import Role
from jivapay.domain.ledger import posting as L
from jivapay.services.ledger import posting
from jivapay.settings import get_settings
from tests.factories import bearer, make_api_key, make_user, token_for
from tests.integration.conftest import World
from tests.integration.ledger.helpers import balance

CARD = "2200 0000 0000 0004"
PAYOUT = {
    "amount": "900.00",
    "currency": "RUB",
    "payment_method": "card",
    "merchant_order_id": "po-1",
    "recipient": {"number": CARD, "name": "Anna Smirnova", "bank": "T-Bank"},
}


async def _api_key(world: World) -> dict[str, str]:
    async with world.session_factory() as session:
        store = await session.get(Store, world.store_id)
    assert store is not None
    _, key = await make_api_key(world.session_factory, store.merchant_id, world.store_id)
    return {"X-API-Key": key}


async def _fund_store(world: World) -> None:
    async with atomic(world.session_factory) as session:
        await posting.credit_deposit(session, "store", world.store_id, "TRC20", 100 * 10**6, "store-funds")


async def _reveals(world: World) -> list[AuditLogEntry]:
    async with world.session_factory() as session:
        stmt = select(AuditLogEntry).where(AuditLogEntry.action == "order.recipient_reveal").order_by(AuditLogEntry.id)
        return list((await session.scalars(stmt)).all())


async def test_payout_init_refuses_a_recipient_the_method_cannot_pay(world: World, client: Any) -> None:
    headers = await _api_key(world)
    await _fund_store(world)
    cases = [
        ("card", {"number": "2200 0000 0000 0005", "name": "Anna Smirnova"}, ["recipient.number"]),  # Luhn
        ("card", {"number": "12345", "name": "Anna Smirnova"}, ["recipient.number"]),
        ("card", {"number": CARD, "name": " "}, ["recipient.name"]),
        ("sbp", {"number": "+79161234567", "name": "Anna Smirnova"}, ["recipient.bank"]),
        ("sbp", {"number": CARD, "name": "Anna Smirnova", "bank": "T-Bank"}, ["recipient.number"]),
        ("account", {"number": "40817810999100000001", "name": "Anna Smirnova"}, ["recipient.bank"]),
        (
            "account",
            {"number": "4081", "name": "", "bank": ""},
            ["recipient.number", "recipient.name", "recipient.bank"],
        ),
    ]
    for method, recipient, fields in cases:
        body = {**PAYOUT, "payment_method": method, "recipient": recipient}
        refused = await client.post("/gateway/payout/init", json=body, headers=headers)
        assert refused.status_code == 422, (method, recipient, refused.text)
        error = refused.json()["error"]
        assert error["code"] == "validation_failed"
        assert [e["field"] for e in error["details"]["errors"]] == fields, (method, recipient)
        assert all(e["message"] for e in error["details"]["errors"])
    async with world.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(IncomingOrder)) == 0
    assert await balance(world.session_factory, L.store_frozen(world.store_id)) == 0  # nothing frozen either
    # a phone for SBP is stored in its canonical form, with the bank
    sbp = {
        **PAYOUT,
        "payment_method": "sbp",
        "recipient": {"number": "8 916 123-45-67", "name": "Anna", "bank": "Ozon"},
    }
    created = await client.post("/gateway/payout/init", json=sbp, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["recipient_last4"] == "4567"
    async with world.session_factory() as session:
        incoming = (
            await session.scalars(select(IncomingOrder).where(IncomingOrder.public_id == created.json()["id"]))
        ).one()
    assert incoming.recipient_encrypted is not None
    assert '"number":"+79161234567"' in decrypt_secret(get_settings(), incoming.recipient_encrypted)


async def test_the_assigned_trader_sees_the_recipient_while_the_order_is_open(world: World, client: Any) -> None:
    await _fund_store(world)
    trader = await make_user(world.session_factory, Role.TRADER, profile={"in_work": True})
    other = await make_user(world.session_factory, Role.TRADER, profile={"in_work": True})
    async with atomic(world.session_factory) as session:
        await posting.credit_deposit(session, "trader", trader.id, "TRC20", 10**10, "collateral")
    await world.requisite(trader.id)
    created = await client.post("/gateway/payout/init", json=PAYOUT, headers=await _api_key(world))
    assert created.status_code == 201, created.text
    outcome = await world.process(created.json()["id"])
    assert outcome.status == "assigned", outcome
    t = bearer(await token_for(client, Role.TRADER, trader.login))

    # the list: last 4 only
    listed = await client.get("/trader/orders", headers=t)
    assert listed.status_code == 200
    [item] = listed.json()["data"]
    assert (item["id"], item["recipient_last4"], item["amount"]) == (outcome.reference, "0004", "900.00")
    assert "2200000000000004" not in listed.text
    assert "Smirnova" not in listed.text
    assert await _reveals(world) == []

    # the detail: everything needed to send the money, each read audited
    for _ in range(2):
        detail = await client.get(f"/trader/orders/{outcome.reference}", headers=t)
        assert detail.status_code == 200, detail.text
        body = detail.json()
        assert (body["status"], body["amount"], body["currency"]) == ("pending", "900.00", "RUB")
        assert body["recipient"] == {
            "number": "2200000000000004",
            "name": "Anna Smirnova",
            "bank": "T-Bank",
            "payment_method": "card",
            "revealed": True,
        }
    reveals = await _reveals(world)
    assert [(r.actor_type, r.actor_id, r.target_type, r.target_id) for r in reveals] == [
        ("user", str(trader.id), "order", str(outcome.order_id))
    ] * 2
    assert "2200000000000004" not in str(reveals[0].details)  # the audit log masks the number
    assert reveals[0].details["recipient_last4"] == "0004"

    # another trader: the order does not exist, nothing revealed, nothing audited
    o = bearer(await token_for(client, Role.TRADER, other.login))
    foreign = await client.get(f"/trader/orders/{outcome.reference}", headers=o)
    assert foreign.status_code == 404
    assert "2200000000000004" not in foreign.text
    assert len(await _reveals(world)) == 2

    # the order ends (declined: it goes to another trader): masked again, no more reveals
    declined = await client.post(f"/trader/orders/{outcome.reference}/cancel", json={}, headers=t)
    assert declined.json()["status"] == "declined", declined.text
    after = await client.get(f"/trader/orders/{outcome.reference}", headers=t)
    assert after.status_code == 200
    assert after.json()["recipient"] == {
        "number": "**** 0004",
        "name": "Anna S.",
        "bank": "T-Bank",
        "payment_method": "card",
        "revealed": False,
    }
    assert "2200000000000004" not in after.text
    assert len(await _reveals(world)) == 2


async def test_a_payin_has_no_recipient(world: World, client: Any) -> None:
    trader = await make_user(world.session_factory, Role.TRADER, profile={"in_work": True})
    async with atomic(world.session_factory) as session:
        await posting.credit_deposit(session, "trader", trader.id, "TRC20", 10**10, "collateral")
    await world.requisite(trader.id)
    outcome = await world.process(await world.incoming(150_000, merchant_order_id="in-1"))
    t = bearer(await token_for(client, Role.TRADER, trader.login))
    detail = (await client.get(f"/trader/orders/{outcome.reference}", headers=t)).json()
    assert (detail["recipient"], detail["recipient_last4"]) == (None, None)
    assert await _reveals(world) == []
