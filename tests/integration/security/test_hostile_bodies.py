"""Hostile bodies are 4xx in the documented error body, and change nothing (issue 13, item 8):
deep nesting, repeated keys, a JSON body under another Content-Type, amounts in other digits or
with exponents, bodies too large."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from jivapay.adapters.db.models import ExchangeRate, IncomingOrder, Store
from jivapay.domain.identity.roles import AdminPermission, Role
from jivapay.http.body_guard import MAX_JSON_BODY_BYTES, MAX_JSON_DEPTH
from tests.factories import bearer, make_api_key, make_user, token_for
from tests.integration.conftest import World

PAYIN = {"amount": "1500.00", "currency": "RUB", "payment_method": "card", "merchant_order_id": "h-1"}
PAYOUT = {
    "amount": "900.00",
    "currency": "RUB",
    "payment_method": "card",
    "merchant_order_id": "h-2",
    "recipient": {"number": "2200 0000 0000 0004", "name": "Anna Smirnova"},
}
JSON = {"content-type": "application/json"}
# other digits, exponents and everything else Decimal() or \d would take
BAD_AMOUNTS = [
    "١٠٠",  # Arabic-Indic
    "１００",  # fullwidth
    "¹⁰⁰",  # superscripts
    "१००",  # Devanagari
    "1E+3",
    "1e2",
    "1.5e1",
    " 100",
    "100 ",
    "100\n",
    "1_000",
    "+100",
    ".5",
    "100.",
    "NaN",
    "Infinity",
    "0x10",
    "",
]


async def _store(world: World) -> dict[str, str]:
    async with world.session_factory() as session:
        store = await session.get(Store, world.store_id)
    assert store is not None
    _, key = await make_api_key(world.session_factory, store.merchant_id, world.store_id)
    return {"X-API-Key": key}


async def _orders(world: World) -> int:
    async with world.session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(IncomingOrder)) or 0)


def _error(response: Any, status: int | tuple[int, ...], code: str) -> dict[str, Any]:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, response.text
    body = response.json()
    assert set(body) == {"error", "request_id"}
    assert body["request_id"]
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    return body["error"]  # type: ignore[no-any-return]


async def test_deep_nesting_is_refused_before_decoding(world: World, client: Any) -> None:
    store = await _store(world)
    for body in (b"[" * 10_000 + b"]" * 10_000, b'{"a":' * 10_000 + b"1" + b"}" * 10_000, b"[" * 100_000):
        response = await client.post("/gateway/payin/init", content=body, headers={**store, **JSON})
        error = _error(response, 422, "invalid_body")
        assert error["details"]["errors"] == [{"field": None, "message": error["message"]}]
    # the limit: MAX_JSON_DEPTH levels are decoded (and refused for what they are), one more is not
    inside = await client.post(
        "/gateway/payin/init",
        content=b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH,
        headers={**store, **JSON},
    )
    _error(inside, 422, "validation_failed")
    deeper = b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1)
    _error(await client.post("/gateway/payin/init", content=deeper, headers={**store, **JSON}), 422, "invalid_body")
    # brackets inside strings are text, not depth
    text = json.dumps({**PAYIN, "client_id": "[" * 1000 + '\\"{' * 100}).encode()
    assert (await client.post("/gateway/payin/init", content=text, headers={**store, **JSON})).status_code == 201
    assert await _orders(world) == 1


async def test_a_repeated_key_is_refused_wherever_it_is(world: World, client: Any) -> None:
    store = await _store(world)
    top = b'{"amount":"1","amount":"2","currency":"RUB","payment_method":"card","merchant_order_id":"d-1"}'
    error = _error(
        await client.post("/gateway/payin/init", content=top, headers={**store, **JSON}), 422, "invalid_body"
    )
    assert "amount" in error["message"]
    nested = json.dumps(PAYOUT).replace('"name": "Anna Smirnova"', '"name": "Anna", "name": "Eve"').encode()
    response = await client.post("/gateway/payout/init", content=nested, headers={**store, **JSON})
    _error(response, 422, "invalid_body")
    # escapes that spell the same key are the same key
    escaped = top.replace(b'"amount":"2"', b'"\\u0061mount":"2"')
    _error(await client.post("/gateway/payin/init", content=escaped, headers={**store, **JSON}), 422, "invalid_body")
    # a bearer route too
    merchant = await make_user(world.session_factory, Role.MERCHANT)
    auth = bearer(await token_for(client, Role.MERCHANT, merchant.login))
    twice = b'{"name":"a","name":"b"}'
    _error(await client.post("/merchant/stores", content=twice, headers={**auth, **JSON}), 422, "invalid_body")
    assert await _orders(world) == 0


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "text/json", "application/jsonp", "application/+json"],
)
async def test_a_json_body_under_another_content_type_is_415(
    world: World, client: Any, content_type: str | None
) -> None:
    store = await _store(world)
    headers = {**store, **({"content-type": content_type} if content_type else {})}
    response = await client.post("/gateway/payin/init", content=json.dumps(PAYIN).encode(), headers=headers)
    error = _error(response, 415, "unsupported_media_type")
    assert error["details"]["expected"] == "application/json"
    # a form is not JSON either
    form = await client.post("/gateway/payin/init", data=PAYIN, headers=store)
    _error(form, 415, "unsupported_media_type")
    assert await _orders(world) == 0


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "Application/JSON", "application/vnd.x+json"],
)
async def test_json_media_types_are_taken(world: World, client: Any, content_type: str) -> None:
    store = await _store(world)
    response = await client.post(
        "/gateway/payin/init", content=json.dumps(PAYIN).encode(), headers={**store, "content-type": content_type}
    )
    assert response.status_code == 201, response.text


async def test_a_body_over_the_limit_is_413(world: World, client: Any) -> None:
    store = await _store(world)
    big = json.dumps({**PAYIN, "client_id": "x" * MAX_JSON_BODY_BYTES}).encode()
    _error(await client.post("/gateway/payin/init", content=big, headers={**store, **JSON}), 413, "payload_too_large")
    assert await _orders(world) == 0


async def test_amounts_are_plain_ascii_decimals(world: World, client: Any) -> None:
    store = await _store(world)
    merchant = bearer(await token_for(client, Role.MERCHANT, await _merchant_login(world)))
    for amount in BAD_AMOUNTS:
        for path, body in (("/gateway/payin/init", PAYIN), ("/gateway/payout/init", PAYOUT)):
            response = await client.post(path, json={**body, "amount": amount}, headers=store)
            error = _error(response, 422, "validation_failed")
            assert error["details"]["errors"] == [{"field": "amount", "message": error["message"]}], (amount, error)
        listed = await client.get(
            "/merchant/orders", params={"currency": "RUB", "amount_min": amount}, headers=merchant
        )
        assert _error(listed, 422, "validation_failed")["details"]["field"] == "amount_min", amount
    assert await _orders(world) == 0


async def _merchant_login(world: World) -> str:
    from jivapay.adapters.db.models import User

    async with world.session_factory() as session:
        store = await session.get(Store, world.store_id)
        assert store is not None
        user = await session.get(User, store.merchant_id)
    assert user is not None
    return str(user.login)


async def test_rates_and_decimal_settings_take_only_plain_decimals(world: World, client: Any) -> None:
    admin = await make_user(world.session_factory, Role.ADMIN, permissions=set(AdminPermission))
    headers = bearer(await token_for(client, Role.ADMIN, admin.login))
    for value in ("٩٠", "1E+2", "９０", " 90", "+90"):
        rate = await client.put("/admin/rates/RUB", json={"rate": value}, headers=headers)
        assert _error(rate, 422, "validation_failed")["details"]["field"] == "rate"
        setting = await client.put(
            "/admin/settings/WITHDRAWAL_APPROVAL_THRESHOLD_USDT", json={"value": value}, headers=headers
        )
        _error(setting, 422, "validation_failed")
        fraud = await client.put("/admin/settings/FRAUD_REVIEW_AMOUNT", json={"value": {"RUB": value}}, headers=headers)
        _error(fraud, 422, "validation_failed")
    async with world.session_factory() as session:
        assert (await session.get(ExchangeRate, "RUB")).rate == 90  # type: ignore[union-attr]
    assert (await client.put("/admin/rates/RUB", json={"rate": "91.5"}, headers=headers)).status_code == 200


async def test_no_body_and_an_empty_body_still_work(world: World, client: Any) -> None:
    # the guard lets an empty body through: an all-optional body reads as {} (OptionalBodyMiddleware)
    merchant = await make_user(world.session_factory, Role.MERCHANT)
    auth = bearer(await token_for(client, Role.MERCHANT, merchant.login))
    assert (await client.post("/auth/logout", headers=auth)).status_code < 300
    # and the login form (not JSON) is not its business
    login = await client.post("/merchant/auth/token", data={"username": merchant.login, "password": "x"})
    assert login.status_code == 401, login.text
