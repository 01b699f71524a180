"""A customer's X-Order-Token opens its own order and nothing else; its Idempotency-Keys are that
order's, never the store's (issue 13, item 7)."""

from __future__ import annotations

import base64
import re
from typing import Any

from sqlalchemy import func, select

from jivapay.adapters.db.models import IdempotencyKey, Receipt, Store
from jivapay.domain.identity.roles import Role
from jivapay.http.app import create_app
from jivapay.services.merchants import gateway
from jivapay.settings import get_settings
from tests.factories import incoming_of, make_api_key, make_store, make_user
from tests.integration.conftest import World

PAYIN = {"amount": "1500.00", "currency": "RUB", "payment_method": "card"}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TOKEN_ROUTES = {("GET", "/gateway/payin/status/{order_id:str}"), ("POST", "/gateway/payin/confirm/{order_id:str}")}


async def _api_key(world: World, store_id: int | None = None) -> dict[str, str]:
    store_id = store_id or world.store_id
    async with world.session_factory() as session:
        store = await session.get(Store, store_id)
    assert store is not None
    _, key = await make_api_key(world.session_factory, store.merchant_id, store_id)
    return {"X-API-Key": key}


async def _payin(client: Any, world: World, store: dict[str, str], name: str, amount: str, **headers: str) -> Any:
    """An assigned pay-in of the store: its init answer (id, order_token)."""
    init = await client.post(
        "/gateway/payin/init", json={**PAYIN, "amount": amount, "merchant_order_id": name}, headers={**store, **headers}
    )
    assert init.status_code == 201, init.text
    assert (await world.process(init.json()["id"])).status == "assigned"
    return init


async def _status(client: Any, store: dict[str, str], reference: str) -> str:
    response = await client.get(f"/gateway/payin/status/{reference}", headers=store)
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


def _refused(response: Any) -> None:
    """401/403/404 with the documented error body."""
    assert response.status_code in (401, 403, 404), response.text
    body = response.json()
    assert set(body) == {"error", "request_id"}
    assert set(body["error"]) == {"code", "message", "details"}


async def _keys(world: World) -> list[str]:
    async with world.session_factory() as session:
        return sorted((await session.scalars(select(IdempotencyKey.key))).all())


async def test_a_customers_idempotency_key_never_meets_the_stores(world: World, client: Any) -> None:
    await world.requisite(await world.trader())
    store = await _api_key(world)
    # the merchant creates order A with key K
    a = await _payin(client, world, store, "tok-a", "1500.00", **{"Idempotency-Key": "K"})
    customer = {"X-Order-Token": a.json()["order_token"], "Idempotency-Key": "K"}
    # the customer confirms A with the same K: its own request, not the init's answer and no conflict
    confirmed = await client.post(f"/gateway/payin/confirm/{a.json()['id']}", headers=customer)
    assert confirmed.status_code == 200, confirmed.text
    assert "idempotent-replayed" not in confirmed.headers
    assert confirmed.json()["status"] == "client_confirmed"
    assert "order_token" not in confirmed.json()
    # each side replays its own answer
    again = await client.post(f"/gateway/payin/confirm/{a.json()['id']}", headers=customer)
    assert (again.status_code, again.content, again.headers["idempotent-replayed"]) == (200, confirmed.content, "true")
    replayed = await client.post(
        "/gateway/payin/init",
        json={**PAYIN, "merchant_order_id": "tok-a"},
        headers={**store, "Idempotency-Key": "K"},
    )
    assert (replayed.status_code, replayed.content) == (201, a.content)
    assert replayed.headers["idempotent-replayed"] == "true"

    # the other way round: a customer's key first cannot block the merchant's next init
    b = await _payin(client, world, store, "tok-b", "1600.00")
    early = {"X-Order-Token": b.json()["order_token"], "Idempotency-Key": "L"}
    assert (await client.post(f"/gateway/payin/confirm/{b.json()['id']}", headers=early)).status_code == 200
    c = await client.post(
        "/gateway/payin/init",
        json={**PAYIN, "amount": "1700.00", "merchant_order_id": "tok-c"},
        headers={**store, "Idempotency-Key": "L"},
    )
    assert c.status_code == 201, c.text
    assert "idempotent-replayed" not in c.headers
    assert c.json()["merchant_order_id"] == "tok-c"

    # the store's keys as sent; the customers' in their orders' namespaces
    a_id = (await incoming_of(world.session_factory, a.json()["id"])).id
    b_id = (await incoming_of(world.session_factory, b.json()["id"])).id
    from jivapay.services.merchants.idempotency import order_key

    assert await _keys(world) == sorted(["K", "L", order_key("K", a_id), order_key("L", b_id)])
    # a store cannot send a key shaped like an order's
    forged = await client.post(
        "/gateway/payin/init",
        json={**PAYIN, "merchant_order_id": "tok-d"},
        headers={**store, "Idempotency-Key": order_key("K", a_id)},
    )
    assert (forged.status_code, forged.json()["error"]["details"]["field"]) == (422, "Idempotency-Key")


async def test_a_token_opens_only_its_own_order(world: World, client: Any) -> None:
    await world.requisite(await world.trader())
    store = await _api_key(world)
    a = await _payin(client, world, store, "own-a", "1500.00")
    b = await _payin(client, world, store, "own-b", "1600.00")
    a_ref, b_ref = a.json()["id"], b.json()["id"]
    token_a = {"X-Order-Token": a.json()["order_token"]}

    # another order of the same store: no read, no confirm (with or without a receipt), no replay
    _refused(await client.get(f"/gateway/payin/status/{b_ref}", headers=token_a))
    _refused(await client.get(f"/gateway/payin/status/{b_ref}?wait=1", headers=token_a))
    confirmed_a = await client.post(f"/gateway/payin/confirm/{a_ref}", headers={**token_a, "Idempotency-Key": "P"})
    assert confirmed_a.status_code == 200, confirmed_a.text
    on_b = await client.post(f"/gateway/payin/confirm/{b_ref}", headers={**token_a, "Idempotency-Key": "P"})
    _refused(on_b)
    assert on_b.content != confirmed_a.content
    _refused(await client.post(f"/gateway/payin/confirm/{b_ref}", headers=token_a))
    _refused(
        await client.post(
            f"/gateway/payin/confirm/{b_ref}",
            headers=token_a,
            files={"receipt": ("paid.pdf", PDF, "application/pdf")},
        )
    )
    assert await _status(client, store, b_ref) == "pending_payment"
    async with world.session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Receipt)) == 0
    # an unknown reference and one of another store's orders are refused alike
    _refused(await client.get("/gateway/payin/status/ord_doesnotexist0000000000", headers=token_a))
    merchant = await make_user(world.session_factory, Role.MERCHANT)
    other_store_id = await make_store(world.session_factory, merchant.id, name="Other")
    other_store = await _api_key(world, other_store_id)
    foreign = await _payin(client, world, other_store, "own-a", "1800.00")
    _refused(await client.get(f"/gateway/payin/status/{foreign.json()['id']}", headers=token_a))
    _refused(await client.post(f"/gateway/payin/confirm/{foreign.json()['id']}", headers=token_a))
    assert await _status(client, other_store, foreign.json()["id"]) == "pending_payment"
    # a valid token of another store naming B's row id does not open B: a token names its store too
    b_id = (await incoming_of(world.session_factory, b_ref)).id
    token_b = {"X-Order-Token": b.json()["order_token"]}
    swapped = gateway.order_token(get_settings(), other_store_id, b_id)
    _refused(await client.get(f"/gateway/payin/status/{b_ref}", headers={"X-Order-Token": swapped}))
    # a token whose payload names B but is signed for A is refused; B's own token still works
    payload_a, _, mac_a = token_a["X-Order-Token"].partition(".")
    payload_b = base64.urlsafe_b64decode(payload_a + "=" * (-len(payload_a) % 4)).decode()
    payload_b = re.sub(r"^(\d+)\.(\d+)\.", rf"\g<1>.{b_id}.", payload_b)
    forged = base64.urlsafe_b64encode(payload_b.encode()).decode().rstrip("=") + "." + mac_a
    _refused(await client.post(f"/gateway/payin/confirm/{b_ref}", headers={"X-Order-Token": forged}))
    assert await _status(client, store, b_ref) == "pending_payment"
    assert (await client.get(f"/gateway/payin/status/{b_ref}", headers=token_b)).status_code == 200


def _fill(path: str, reference: str) -> str:
    path = re.sub(r"\{order_id:str\}", reference, path)
    path = re.sub(r"\{[^}:]+:int\}", "1", path)
    return re.sub(r"\{[^}:]+(:[^}]+)?\}", "x", path)


async def test_an_order_token_opens_no_other_route(world: World, client: Any) -> None:
    """Every guarded route of the app, called with a valid order token (and the order's own
    reference wherever a path names an order): only the two customer routes let it in."""
    await world.requisite(await world.trader())
    store = await _api_key(world)
    order = await _payin(client, world, store, "routes-a", "1500.00")
    token = {"X-Order-Token": order.json()["order_token"]}
    routes = sorted(
        (method, route.path)
        for route in create_app().routes
        for handler in getattr(route, "route_handlers", ())
        if handler.resolve_guards()
        for method in handler.http_methods
        if method not in ("HEAD", "OPTIONS")
    )
    assert len(routes) > 50
    assert set(routes) >= TOKEN_ROUTES
    for method, path in routes:
        response = await client.request(method, _fill(path, order.json()["id"]), headers=token)
        if (method, path) in TOKEN_ROUTES:
            assert response.status_code == 200, (method, path, response.text)
        else:
            assert response.status_code == 401, (method, path, response.text)
            _refused(response)
    # the confirm above was the customer's own, and the only change
    assert await _status(client, store, order.json()["id"]) == "client_confirmed"
