"""The hosted payment page in a real headless Chromium (Debian's ``chromium``, driven by Playwright
with ``executable_path``) against a real ``jivapay api`` process: the happy path (requisite
appears when assigned → copy → "I have paid" with a receipt → the trader confirms → back to the
store's return_url), expiry, dispute, a wrong token, both languages, a 360 px phone, no CSP
violation, under 100 KB on first load, and axe-core finding no serious accessibility problem.

Screenshots of each state go to ``artifacts/payment-page/`` (git-ignored).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import shutil
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from jivapay.adapters.db.models import OrderHistory, Store
from jivapay.adapters.db.uow import atomic
from jivapay.domain.orders.status import Party
from jivapay.domain.platform.audit import Actor
from jivapay.services.orders.status import change_status, expire_order
from tests.e2e.conftest import free_port, jivapay_env, spawn_jivapay
from tests.factories import make_api_key
from tests.fixtures.chains import ensure_axe
from tests.integration.conftest import World

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "payment-page"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def chromium_path() -> str:
    found = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        raise AssertionError("CI must have Debian's chromium (.ci/run installs it)")
    pytest.skip("no chromium on this machine: apt-get install chromium (CI installs it)")


@pytest.fixture
def api(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = tmp_path / "api.log"
    process = spawn_jivapay(["api", "--port", str(port)], jivapay_env(), tmp_path, log)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    executable = chromium_path()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            await launched.close()


async def _payin(world: World, api: str, **extra: Any) -> dict[str, Any]:
    async with world.session_factory() as session:
        store = await session.get(Store, world.store_id)
    assert store is not None
    _, key = await make_api_key(world.session_factory, store.merchant_id, world.store_id)
    body = {
        "amount": "1500.00",
        "currency": "RUB",
        "payment_method": "card",
        "merchant_order_id": f"shop-{dt.datetime.now().timestamp()}",
        "return_url": f"{api}/health?from=payment-page",
        **extra,
    }
    async with httpx.AsyncClient() as http:
        created = await http.post(f"{api}/gateway/payin/init", json=body, headers={"X-API-Key": key})
    assert created.status_code == 201, created.text
    answer: dict[str, Any] = created.json()
    assert answer["payment_page_url"].startswith(f"{api}/pay/")
    return answer


async def _assigned_order(world: World, reference: str) -> tuple[int, int]:
    """Assign the pay-in to a trader: (order id, trader id)."""
    trader = await world.trader()
    await world.requisite(trader)
    outcome = await world.process(reference)
    assert outcome.status == "assigned", outcome
    return outcome.order_id, trader


class Watch:
    """What the page did that it should not: console errors (CSP violations show there) and bytes."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        self.bytes = 0
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def csp(self) -> list[str]:
        return [e for e in self.errors if "Content Security Policy" in e or "Refused to" in e]


async def _new_page(browser: Any, *, locale: str = "en-US", width: int = 412, bypass_csp: bool = False) -> Any:
    context = await browser.new_context(
        locale=locale,
        viewport={"width": width, "height": 860},
        bypass_csp=bypass_csp,
        extra_http_headers={"Accept-Language": locale},
    )
    await context.grant_permissions(["clipboard-read", "clipboard-write"])
    return await context.new_page()


async def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def _serious_axe_violations(page: Any) -> list[str]:
    await page.add_script_tag(path=str(ensure_axe()))
    found: list[str] = await page.evaluate(
        """() => axe.run(document, {resultTypes: ["violations"]}).then(r =>
             r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
                         .map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).join(", ")))"""
    )
    return found


async def test_happy_path_from_waiting_to_the_return_url(world: World, api: str, browser: Any) -> None:
    created = await _payin(world, api)
    page = await _new_page(browser)
    watch = Watch(page)
    sizes: list[int] = []

    async def count(response: Any) -> None:
        with contextlib.suppress(Exception):  # a long poll still open has no body yet
            sizes.append(len(await response.body()))

    page.on("response", lambda r: asyncio.ensure_future(count(r)))
    await page.goto(created["payment_page_url"])
    await page.get_by_role("heading", name="Finding payment details").wait_for()
    await asyncio.sleep(0.5)
    assert sum(sizes) < 100_000, sizes  # the first load, every asset included
    await _shot(page, "1-searching")

    order_id, trader = await _assigned_order(world, created["id"])  # the page learns it by itself
    await page.get_by_role("heading", name="Send the money").wait_for(timeout=30_000)
    shown = (await page.locator("#jp-number").text_content() or "").strip()
    assert len(shown.split(" ")) == 4  # a card number in groups of four
    number = shown.replace(" ", "")
    assert number.isdigit()
    assert await page.locator("#jp-owner").text_content() == "Ivan P."
    assert "1500.00" in (await page.locator("#jp-amount").text_content() or "")
    timer = await page.locator("#jp-timer").text_content()
    assert timer is not None
    assert ":" in timer
    await page.locator("button[data-copy=jp-number]").click()
    await page.get_by_role("button", name="Copied").wait_for()
    assert await page.evaluate("navigator.clipboard.readText()") == number
    await _shot(page, "2-pay")

    await page.set_input_files("#jp-receipt", files=[{"name": "receipt.png", "mimeType": "image/png", "buffer": PNG}])
    await page.get_by_text("File: receipt.png").wait_for()
    await page.get_by_role("button", name="I have paid").click()
    await page.get_by_role("heading", name="Checking your payment").wait_for()
    await _shot(page, "3-checking")

    async with atomic(world.session_factory) as session:
        await change_status(
            session, order_id, "completed", party=Party.TRADER, actor=Actor.user(trader), trader_id=trader
        )
    await page.get_by_role("heading", name="Payment received").wait_for(timeout=30_000)
    await page.get_by_role("link", name="Back to the store").wait_for()
    await _shot(page, "4-completed")
    await page.wait_for_url("**/health?from=payment-page&status=completed*", timeout=15_000)
    assert watch.csp() == []
    assert watch.errors == []


async def test_expired_in_russian_on_a_360px_phone(world: World, api: str, browser: Any) -> None:
    created = await _payin(world, api, return_url=None)
    order_id, _ = await _assigned_order(world, created["id"])
    page = await _new_page(browser, locale="ru-RU", width=360)
    watch = Watch(page)
    await page.goto(created["payment_page_url"])
    await page.get_by_role("heading", name="Переведите деньги").wait_for()
    wide = await page.evaluate(
        """() => [...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > 361)
                 .map(e => e.tagName + "#" + e.id + "." + e.className + " " + e.getBoundingClientRect().right)"""
    )
    assert wide == []  # nothing wider than the phone
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    await _shot(page, "5-pay-ru-360px")
    async with atomic(world.session_factory) as session:
        await session.execute(
            update(OrderHistory)
            .where(OrderHistory.id == order_id)
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    async with atomic(world.session_factory) as session:
        assert await expire_order(session, order_id) is not None
    await page.get_by_role("heading", name="Время оплаты истекло").wait_for(timeout=30_000)
    assert not await page.locator("#jp-pay").is_visible()
    await _shot(page, "6-expired-ru")
    assert watch.errors == []


async def test_disputed_and_switching_language(world: World, api: str, browser: Any) -> None:
    created = await _payin(world, api)
    order_id, _ = await _assigned_order(world, created["id"])
    page = await _new_page(browser)
    await page.goto(created["payment_page_url"])
    await page.get_by_role("button", name="I have paid").click()
    await page.get_by_role("heading", name="Checking your payment").wait_for()
    async with atomic(world.session_factory) as session:
        await session.execute(
            update(OrderHistory)
            .where(OrderHistory.id == order_id)
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    async with atomic(world.session_factory) as session:
        assert await expire_order(session, order_id) is not None  # the trader did not confirm: dispute
    await page.get_by_role("heading", name="Your payment is under review").wait_for(timeout=30_000)
    await _shot(page, "7-disputed")
    await page.get_by_role("link", name="RU").click()
    await page.get_by_role("heading", name="Платёж на проверке").wait_for()
    assert await page.locator("html").get_attribute("lang") == "ru"
    assert created["id"] not in await page.content()  # not even the gateway's reference


async def test_a_wrong_token_is_a_plain_404(api: str, browser: Any) -> None:
    page = await _new_page(browser)
    response = await page.goto(f"{api}/pay/not-a-real-token")
    assert response is not None
    assert response.status == 404
    await page.get_by_role("heading", name="Page not found").wait_for()
    await _shot(page, "8-not-found")


async def test_axe_finds_no_serious_accessibility_problem(world: World, api: str, browser: Any) -> None:
    created = await _payin(world, api)
    await _assigned_order(world, created["id"])
    page = await _new_page(browser, bypass_csp=True)  # axe itself is injected as a script
    await page.goto(created["payment_page_url"])
    await page.get_by_role("heading", name="Send the money").wait_for()
    assert await _serious_axe_violations(page) == []
    await page.get_by_role("button", name="I have paid").click()
    await page.get_by_role("heading", name="Checking your payment").wait_for()
    assert await _serious_axe_violations(page) == []
    await page.goto(f"{api}/pay/not-a-real-token")
    assert await _serious_axe_violations(page) == []
    # the keyboard reaches the copy buttons and the form in order
    await page.goto(created["payment_page_url"])
    focused = []
    for _ in range(6):
        await page.keyboard.press("Tab")
        focused.append(await page.evaluate("document.activeElement.textContent || document.activeElement.id"))
    assert any("Copy" in f for f in focused), focused
