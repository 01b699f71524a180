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
