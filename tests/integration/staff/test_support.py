"""Support: order search and cases, notes, status moves, odd inputs — over real PostgreSQL, Redis
and the HTTP API, ledger checked after each flow (disputes: tests/integration/orders/test_disputes.py)."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import World
from tests.integration.ledger.helpers import assert_ledger_sound

PDF = ("statement.pdf", b"%PDF-1.4 bank statement", "application/pdf")


async def test_search_case_notes_and_support_moves(world: World, client: Any, support: Any) -> None:
    trader = await world.trader()
    requisite = await world.requisite(trader)
    order = await world.assigned(150_000, ref="find-me")
    other = await world.assigned(170_000, ref="other")
    case = await client.get(f"/support/orders/{order.public_id}", headers=support)
    assert case.status_code == 200, case.text
    last4 = case.json()["order"]["requisite_last4"]
    assert case.json()["order"]["merchant_order_id"] == "find-me"
    assert "Ivan" not in case.text  # no owner names, no full numbers

    async def ids(**params: Any) -> list[str]:
        response = await client.get("/support/orders", headers=support, params=params)
        assert response.status_code == 200, response.text
        return [o["id"] for o in response.json()["data"]]

    assert await ids(merchant_order_id="find-me") == [order.public_id]
    assert await ids(order_id=other.public_id) == [other.public_id]
    assert await ids(amount="1500.00", currency="RUB") == [order.public_id]
    assert await ids(requisite_last4=last4, status="pending_payment") == [other.public_id, order.public_id]
    assert await ids(trader_id=trader, limit=1, starting_after=other.public_id) == [order.public_id]
    assert await ids(status="completed") == []
    for bad in (
        {"amount": "1500.00"},
        {"requisite_last4": "12a4"},
        {"status": "lost"},
        {"amount": "x", "currency": "RUB"},
        {"order_id": str(order.id)},  # a row id is not an order reference
    ):
        assert (await client.get("/support/orders", headers=support, params=bad)).status_code == 422, bad
    assert requisite

    note = await client.post(
        f"/support/orders/{order.public_id}/notes", headers=support, json={"body": "customer called"}
    )
    assert note.status_code == 201, note.text
    assert (
        await client.post(f"/support/orders/{order.public_id}/notes", headers=support, json={"body": ""})
    ).status_code == 422
    assert (
        await client.post(f"/support/orders/{order.id}/notes", headers=support, json={"body": "x"})
    ).status_code == 404
    notes = (await client.get(f"/support/orders/{order.public_id}", headers=support)).json()["notes"]
    assert [n["body"] for n in notes] == ["customer called"]

    # support's own moves: cancel with a reason releases the hold; bad moves change nothing
    no_reason = await client.post(
        f"/support/orders/{order.public_id}/status", headers=support, json={"status": "canceled", "reason": ""}
    )
    assert no_reason.status_code == 422
    not_theirs = await client.post(
        f"/support/orders/{order.public_id}/status", headers=support, json={"status": "completed", "reason": "paid"}
    )
    assert not_theirs.status_code in (403, 409)
    unknown = await client.post(
        f"/support/orders/{order.public_id}/status", headers=support, json={"status": "paid", "reason": "x"}
    )
    assert unknown.status_code == 422
    canceled = await client.post(
        f"/support/orders/{order.public_id}/status", headers=support, json={"status": "canceled", "reason": "duplicate"}
    )
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["order"]["status"] == "canceled"
    assert (await world.order_hold(order.id)).status == "released"
    illegal = await client.post(
        f"/support/orders/{order.public_id}/status",
        headers=support,
        json={"status": "pending_payment", "reason": "undo"},
    )
    assert illegal.status_code == 409
    await assert_ledger_sound(world.session_factory)


async def test_odd_inputs_are_4xx(world: World, client: Any, support: Any) -> None:
    for params in (
        {"created_from": "2026-01-01T00:00:00", "created_to": "2026-01-02T00:00:00Z"},  # naive and aware: fine
        {"amount": "1e999999", "currency": "RUB"},
        {"amount": "9" * 40, "currency": "RUB"},
        {"created_from": "2026-01-02T00:00:00", "created_to": "2026-01-01T00:00:00Z"},
    ):
        response = await client.get("/support/orders", headers=support, params=params)
        assert response.status_code in (200, 422), (params, response.text)
    assert (
        await client.get(
            "/support/orders",
            headers=support,
            params={"created_from": "2026-01-01T00:00:00", "created_to": "2026-01-02T00:00:00Z"},
        )
    ).status_code == 200
