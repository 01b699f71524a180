"""The hosted payment page over HTTP: the link from init, what the page shows in each phase and
language, the customer's confirm (with a receipt) and cancel, its JSON state with long poll,
strict CSP and cached assets, and a plain 404 for any bad token."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from jivapay.adapters.db.models import AuditLogEntry, OrderHistory, Receipt, Store, User
from jivapay.adapters.db.uow import atomic
from jivapay.domain.identity.roles import Role
from jivapay.domain.merchants.payment_page import choose_language, text_colour_on
from jivapay.domain.platform.audit import Actor
from jivapay.services.platform.config import set_config
from tests.factories import bearer, incoming_of, make_api_key, token_for
from tests.integration.conftest import World

PAYIN = {
    "amount": "1500.00",
    "currency": "RUB",
    "payment_method": "card",
    "merchant_order_id": "shop-77",
    "return_url": "https://shop.example/back?cart=9",
}


async def _merchant_headers(world: World, client: Any) -> dict[str, str]:
    async with world.session_factory() as session:
        store = await session.get(Store, world.store_id)
        assert store is not None
        merchant = await session.get(User, store.merchant_id)
    assert merchant is not None
    return bearer(await token_for(client, Role.MERCHANT, merchant.login))


async def _key(world: World) -> str:
    async with world.session_factory() as session:
        store = await session.get(Store, world.store_id)
    assert store is not None
    _, key = await make_api_key(world.session_factory, store.merchant_id, world.store_id)
    return key


async def _payin(world: World, client: Any, *, assign: bool = True, **extra: Any) -> dict[str, Any]:
    if assign:
        trader = await world.trader()
        await world.requisite(trader)
    created = await client.post(
        "/gateway/payin/init", json={**PAYIN, **extra}, headers={"X-API-Key": await _key(world)}
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    if assign:
        await world.process(body["id"])
    return body


def _path(body: dict[str, Any]) -> str:
    url = body["payment_page_url"]
    assert url.startswith("http")
    return "/" + url.split("/", 3)[3]


async def test_init_gives_the_page_which_shows_the_requisite_and_takes_the_receipt(world: World, client: Any) -> None:
    body = await _payin(world, client)
    assert body["payment_page_url"].endswith(f"/pay/{body['order_token']}")
    page = await client.get(_path(body), headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["cache-control"] == "no-store"
    html = page.text
    assert '<html lang="en">' in html
    assert "Send the money" in html
    assert "1500.00" in html
    assert "Ivan P." in html  # masked as the gateway masks it
    assert "shop-77" in html
    assert body["id"] not in html  # no internal or gateway ids on the page
    assert "Card transfer" in html
    assert "<script>" not in html  # no inline script: data travels as JSON
    assert re.search(r'<script src="/pay-assets/page\.[0-9a-f]{12}\.js" defer>', html)

    # the page's script reads the same state as JSON
    state = await client.get(f"{_path(body)}/state")
    assert state.status_code == 200
    assert (state.json()["phase"], state.json()["can_confirm"], state.json()["can_cancel"]) == ("pay", True, False)

    # "I have paid" with a receipt, as the page's script sends it
    confirmed = await client.post(
        f"{_path(body)}/confirm",
        headers={"Accept": "application/json"},
        files={"receipt": ("paid.png", b"\x89PNG\r\n\x1a\n receipt", "image/png")},
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["phase"] == "checking"
    incoming = await incoming_of(world.session_factory, body["id"])
    async with world.session_factory() as session:
        [receipt] = list(await session.scalars(select(Receipt).where(Receipt.order_id == incoming.order_id)))
        assert receipt.party == "customer"
        actions = list(
            await session.scalars(
                select(AuditLogEntry.action).where(
                    AuditLogEntry.actor_type == "customer", AuditLogEntry.actor_id == str(incoming.id)
                )
            )
        )
    assert "receipt.upload" in actions
    assert "order.status" in actions
    checking = await client.get(_path(body), headers={"Accept-Language": "ru"})
    assert "Проверяем платёж" in checking.text


async def test_a_form_without_javascript_is_answered_with_a_redirect(world: World, client: Any) -> None:
    body = await _payin(world, client)
    posted = await client.post(f"{_path(body)}/confirm", follow_redirects=False)
    assert posted.status_code == 303
    assert posted.headers["location"] == _path(body)
    refused = await client.post(f"{_path(body)}/cancel", follow_redirects=False)
    assert refused.status_code == 303
    assert refused.headers["location"] == f"{_path(body)}?error=permission_denied"
    again = await client.get(refused.headers["location"])
    assert "permission_denied" in again.text


async def test_a_wrong_or_expired_token_is_a_plain_404_page(world: World, client: Any) -> None:
    body = await _payin(world, client, assign=False)
    token = body["order_token"]
    for path in (f"/pay/{token[:-3]}abc", "/pay/nonsense", "/pay/" + "x" * 400):
        page = await client.get(path, headers={"Accept-Language": "ru"})
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert "Страница не найдена" in page.text
        assert "Traceback" not in page.text
        state = await client.get(f"{path}/state")
        assert (state.status_code, state.json()["error"]["code"]) == (404, "not_found")
        posted = await client.post(f"{path}/confirm", headers={"Accept": "application/json"})
        assert posted.status_code == 404


async def test_before_assignment_the_page_waits_and_confirm_is_refused(world: World, client: Any) -> None:
    body = await _payin(world, client, assign=False)
    page = await client.get(_path(body), headers={"Accept-Language": "en"})
    assert "Finding payment details" in page.text
    state = (await client.get(f"{_path(body)}/state?wait=1&since=searching")).json()
    assert state["phase"] == "searching"
    assert state["requisite"] is None
    early = await client.post(f"{_path(body)}/confirm", headers={"Accept": "application/json"})
    assert (early.status_code, early.json()["error"]["code"]) == (409, "order_not_assigned")


async def test_the_store_lets_customers_cancel_and_brands_the_page(world: World, client: Any) -> None:
    headers = await _merchant_headers(world, client)
    changed = await client.put(
        f"/merchant/stores/{world.store_id}/settings",
        json={"customer_can_cancel": True, "brand_color": "#FFCC00", "page_language": "en"},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["brand_color"], changed.json()["customer_can_cancel"]) == ("#ffcc00", True)
    for bad in ({"brand_color": "red"}, {"page_language": "de"}, {"customer_can_cancel": "yes"}):
        refused = await client.put(f"/merchant/stores/{world.store_id}/settings", json=bad, headers=headers)
        assert refused.status_code == 422, bad

    body = await _payin(world, client)
    page = await client.get(_path(body), headers={"Accept-Language": "uz"})  # neither of ours: the store's
    assert '<html lang="en">' in page.text
    assert "theme-ffcc00.css" in page.text
    assert "Cancel payment" in page.text
    theme = await client.get("/pay-assets/theme-ffcc00.css")
    assert theme.text.strip() == ":root{--accent:#ffcc00;--on-accent:#000000}"  # dark text reads on yellow
    assert "immutable" in theme.headers["cache-control"]

    canceled = await client.post(f"{_path(body)}/cancel", headers={"Accept": "application/json"})
    assert canceled.status_code == 200, canceled.text
    state = canceled.json()
    assert (state["phase"], state["final"]) == ("canceled", True)
    assert state["return_url"] == "https://shop.example/back?cart=9&status=canceled&merchant_order_id=shop-77"
    incoming = await incoming_of(world.session_factory, body["id"])
    async with world.session_factory() as session:
        order = await session.get(OrderHistory, incoming.order_id)
    assert order is not None
    assert order.status == "canceled"
    final = await client.get(_path(body))
    assert "Payment canceled" in final.text
    assert 'href="https://shop.example/back?cart=9&amp;status=canceled&amp;merchant_order_id=shop-77"' in final.text


async def test_admins_set_the_instructions_per_method_and_language(world: World, client: Any) -> None:
    async with atomic(world.session_factory) as session:
        await set_config(
            session, "PAYMENT_PAGE_INSTRUCTIONS", {"card": {"en": "Use <b>any</b> bank."}}, actor=Actor.system("tests")
        )
    body = await _payin(world, client)
    english = await client.get(f"{_path(body)}?lang=en")
    assert "Use &lt;b&gt;any&lt;/b&gt; bank." in english.text  # escaped: admins cannot inject markup
    russian = await client.get(f"{_path(body)}?lang=ru")
    assert "Откройте приложение своего банка" in russian.text  # the built-in text for a language left out


async def test_assets_are_content_hashed_and_cached(client: Any) -> None:
    page_assets = ("page.css", "page.js")
    from jivapay.http.merchants.payment_page import ASSETS

    total = 0
    for source in page_assets:
        served = await client.get(f"/pay-assets/{ASSETS[source].name}")
        assert served.status_code == 200
        assert "immutable" in served.headers["cache-control"]
        total += len(served.content)
    assert total < 40_000
    assert (await client.get("/pay-assets/page.css")).status_code == 404
    assert (await client.get("/pay-assets/theme-zzzzzz.css")).status_code == 404


@pytest.mark.parametrize(
    ("asked", "header", "store", "expected"),
    [
        ("en", "ru", None, "en"),
        (None, "ru-RU,ru;q=0.9,en;q=0.8", "en", "ru"),
        (None, "de, en;q=0.5", None, "en"),
        (None, "en;q=0.2, ru;q=0.7", None, "ru"),
        (None, "uz", "en", "en"),
        (None, None, None, "ru"),
        ("xx", "en;q=0", None, "ru"),
    ],
)
def test_language_choice(asked: str | None, header: str | None, store: str | None, expected: str) -> None:
    assert choose_language(asked, header, store) == expected


def test_button_text_reads_on_the_accent() -> None:
    assert text_colour_on("#1f6feb") == "#ffffff"
    assert text_colour_on("#ffcc00") == "#000000"
    assert text_colour_on("#000000") == "#ffffff"


async def test_the_merchant_sets_a_logo_that_the_page_shows(world: World, client: Any) -> None:
    headers = await _merchant_headers(world, client)
    png = b"\x89PNG\r\n\x1a\n" + b"\x01" * 200
    refused = await client.put(
        f"/merchant/stores/{world.store_id}/logo", files={"data": ("l.gif", b"GIF89a", "image/gif")}, headers=headers
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "validation_failed")
    too_big = await client.put(
        f"/merchant/stores/{world.store_id}/logo",
        files={"data": ("l.png", png + b"\x00" * 100_001, "image/png")},
        headers=headers,
    )
    assert too_big.status_code == 422
    assert "100 KB" in too_big.json()["error"]["message"]
    set_logo = await client.put(
        f"/merchant/stores/{world.store_id}/logo", files={"data": ("l.png", png, "image/png")}, headers=headers
    )
    assert set_logo.status_code == 200, set_logo.text
    url = set_logo.json()["logo_url"]
    assert re.fullmatch(r"/pay-assets/logo-[0-9a-f]{64}\.png", url)
    settings = await client.get(f"/merchant/stores/{world.store_id}/settings", headers=headers)
    assert settings.json()["logo_url"] == url
    served = await client.get(url)
    assert (served.status_code, served.content, served.headers["content-type"]) == (200, png, "image/png")
    assert "immutable" in served.headers["cache-control"]
    assert (await client.get(url.replace(".png", ".jpg"))).status_code == 404

    body = await _payin(world, client)
    assert f'src="{url}"' in (await client.get(_path(body))).text
    removed = await client.delete(f"/merchant/stores/{world.store_id}/logo", headers=headers)
    assert removed.status_code == 204
    assert "/pay-assets/logo-" not in (await client.get(_path(body))).text
    assert (await client.get(url)).status_code == 404
