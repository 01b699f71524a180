"""The fixed value sets the API's document lists for filters and request fields (http/enums.py,
``OneOf``) are documentation only: the handlers still check them, and a value outside the set
gets the handler's own 422 message naming the field."""

from __future__ import annotations

from typing import Any

from jivapay.domain.identity.roles import Role
from tests.factories import make_store, sign_in
from tests.integration.conftest import World


def _problem(answer: Any) -> tuple[int, str, str]:
    error = answer.json()["error"]
    return answer.status_code, error["details"].get("field"), error["message"]


async def test_the_traders_order_list_refuses_what_no_order_can_be(world: World, client: Any) -> None:
    trader = await sign_in(client, world.session_factory, Role.TRADER)
    assert (await trader.get("/trader/orders?status=pending&direction=payout")).status_code == 200
    assert _problem(await trader.get("/trader/orders?status=processing")) == (422, "status", "unknown order status")
    assert _problem(await trader.get("/trader/orders?direction=both")) == (
        422,
        "direction",
        "direction is payin or payout",
    )


async def test_a_brand_colour_is_the_whole_value(world: World, client: Any) -> None:
    merchant = await sign_in(client, world.session_factory, Role.MERCHANT)
    store_id = await make_store(world.session_factory, merchant.user.id)
    url = f"/merchant/stores/{store_id}/settings"
    assert (await merchant.put(url, json={"brand_color": "#1F6FEB"})).json()["brand_color"] == "#1f6feb"
    for bad in ("#1f6feb\n", "1f6feb", "#1f6fe"):
        assert _problem(await merchant.put(url, json={"brand_color": bad})) == (
            422,
            "brand_color",
            "brand_color is a colour like #1f6feb",
        ), bad


async def test_values_outside_the_documented_sets_get_the_handlers_own_messages(world: World, client: Any) -> None:
    merchant = await sign_in(client, world.session_factory, Role.MERCHANT)
    store_id = await make_store(world.session_factory, merchant.user.id)
    assert _problem(await merchant.get("/merchant/orders?direction=in")) == (
        422,
        "direction",
        "direction is payin or payout",
    )
    status = _problem(await merchant.get("/merchant/orders?status=paid"))
    assert status[:2] == (422, "status")
    assert status[2].startswith("status is one of processing, failed")
    settings = f"/merchant/stores/{store_id}/settings"
    assert _problem(await merchant.put(settings, json={"page_language": "de"})) == (
        422,
        "page_language",
        "page_language is one of ru, en",
    )
    deposits = _problem(await merchant.get(f"/merchant/stores/{store_id}/deposits?status=done"))
    assert deposits == (422, "status", "unknown deposit status 'done'")

    admin = await sign_in(client, world.session_factory, Role.ADMIN)
    commission = await admin.put(f"/admin/stores/{store_id}/commissions", json={"direction": "in", "rate": "0.01"})
    assert _problem(commission) == (422, "direction", "direction must be payin or payout")
    assert _problem(await admin.post("/admin/fraud/blocklists/emails", json={"value": "x"})) == (
        422,
        "kind",
        "unknown blocklist",
    )
    setting = await admin.put("/admin/settings/MY_FLAG", json={"value": "1", "value_type": "float"})
    assert _problem(setting) == (422, "MY_FLAG", "MY_FLAG: unknown value type 'float'")
    assert _problem(await admin.get("/admin/withdrawals?owner_type=platform")) == (
        422,
        "owner_type",
        "owner_type must be trader, store or teamlead",
    )
    adjustment = await admin.post(
        "/admin/ledger/adjustments",
        json={"owner_type": "platform", "owner_id": 1, "amount": "-1.5", "reason": "r", "idempotency_key": "k1"},
    )
    assert _problem(adjustment) == (422, None, "only stores, traders and teamleads hold USDT, not 'platform'")
    status_move = await admin.post(
        f"/admin/orders/{await world.ref(await world.incoming())}/status", json={"status": "paid", "reason": "x"}
    )
    assert _problem(status_move) == (422, "status", "unknown order status")

    support = await sign_in(client, world.session_factory, Role.SUPPORT)
    assert _problem(await support.get("/support/disputes?priority=urgent")) == (
        422,
        "priority",
        "priority is high, normal or low",
    )
