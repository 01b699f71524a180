"""One error shape over real endpoints: decimal-string amounts and no internal ids in details,
``details.errors`` on every 422, and an empty optional body that is not a 422."""

from __future__ import annotations

from typing import Any

import pytest

from jivapay.adapters.db.models import Store
from jivapay.adapters.db.uow import atomic
from jivapay.domain.identity.roles import Role
from jivapay.services.ledger import posting
from tests.factories import bearer, make_api_key, make_user, token_for
from tests.integration.conftest import World

PAYIN = {"amount": "1500.00", "currency": "RUB", "payment_method": "card", "merchant_order_id": "m-1"}
PAYOUT = {
    **PAYIN,
    "merchant_order_id": "po-broke",
    "recipient": {"number": "4276 1600 0000 0001", "name": "Ivan Petrov"},
}


async def _api_key(world: World) -> dict[str, str]:
    async with world.session_factory() as session:
        store = await session.get(Store, world.store_id)
    assert store is not None
    _, key = await make_api_key(world.session_factory, store.merchant_id, world.store_id)
    return {"X-API-Key": key}


def _field_errors(response: Any) -> list[Any]:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    errors = error["details"]["errors"]
    assert errors
    for entry in errors:
        assert set(entry) == {"field", "message"}, entry
        assert entry["message"], entry
    return [e["field"] for e in errors]


@pytest.mark.parametrize("idempotency_key", [None, "broke-1"])
async def test_insufficient_balance_shows_decimal_strings_and_no_account_id(
    world: World, client: Any, idempotency_key: str | None
) -> None:
    headers = await _api_key(world)
    if idempotency_key:  # the answer is stored and replayed: the stored body has the same shape
        headers["Idempotency-Key"] = idempotency_key
    async with atomic(world.session_factory) as session:  # 1 USDT: far below 1500 RUB at 90 plus commission
        await posting.credit_deposit(session, "store", world.store_id, "TRC20", 10**6, "store-dust")
    for _ in range(2 if idempotency_key else 1):
        response = await client.post("/gateway/payout/init", json=PAYOUT, headers=headers)
        assert response.status_code == 409, response.text
        error = response.json()["error"]
        assert error["code"] == "insufficient_balance"
        details = error["details"]
        assert "account_id" not in details
        assert details["currency"] == "USDT"
        assert details["balance"] == "1.000000"
        # 1500 RUB / 90 × (1 + 0.03), rounded up to the micro-USDT
        assert details["needed"] == "17.166667"


async def test_a_malformed_or_mistyped_gateway_body_is_422_with_field_errors(world: World, client: Any) -> None:
    headers = await _api_key(world)
    not_json = await client.post(
        "/gateway/payin/init", content=b'{"amount": ', headers={**headers, "content-type": "application/json"}
    )
    assert _field_errors(not_json) == [None]  # the body as a whole
    as_float = await client.post("/gateway/payin/init", json={**PAYIN, "amount": 1500.0}, headers=headers)
    assert _field_errors(as_float) == ["amount"]
    nested = await client.post(
        "/gateway/payout/init", json={**PAYOUT, "recipient": {"number": "4276 1600 0000 0001"}}, headers=headers
    )
    assert _field_errors(nested) == ["recipient.name"]
    ours = await client.post("/gateway/payin/init", json={**PAYIN, "amount": "-1.00"}, headers=headers)
    assert _field_errors(ours) == ["amount"]
    assert ours.json()["error"]["details"]["field"] == "amount"


async def test_a_trader_cancels_with_no_body_at_all(world: World, client: Any) -> None:
    trader = await make_user(world.session_factory, Role.TRADER, profile={"in_work": True})
    async with atomic(world.session_factory) as session:
        await posting.credit_deposit(session, "trader", trader.id, "TRC20", 10**10, "t-coll")
    await world.requisite(trader.id)
    headers = bearer(await token_for(client, Role.TRADER, trader.login))
    first = await world.process(await world.incoming(150_000, merchant_order_id="nobody-1"))
    second = await world.process(await world.incoming(160_000, merchant_order_id="nobody-2"))
    assert (first.status, second.status) == ("assigned", "assigned")

    wrong = await client.post(f"/trader/orders/{first.reference}/cancel", json={"reason": 5}, headers=headers)
    assert _field_errors(wrong) == ["reason"]
    canceled = await client.post(f"/trader/orders/{first.reference}/cancel", headers=headers)
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["status"] == "canceled"
    empty = await client.post(
        f"/trader/orders/{second.reference}/cancel",
        content=b"",
        headers={**headers, "content-type": "application/json", "content-length": "0"},
    )
    assert empty.status_code == 200, empty.text
    assert empty.json()["status"] == "canceled"


async def test_logout_needs_no_body(world: World, client: Any) -> None:
    user = await make_user(world.session_factory, Role.MERCHANT)
    headers = bearer(await token_for(client, Role.MERCHANT, user.login))
    response = await client.post("/auth/logout", headers=headers)
    assert response.status_code == 204, response.text
