"""The customer's hosted payment page (docs/payment-page.md): ``/pay/{token}`` and what its script calls.

- ``GET /pay/{token}`` — the page, server-rendered (Jinja) in Russian or English; works without
  JavaScript (plain forms), and its script adds live status, the countdown, copy buttons and the
  upload's progress.
- ``GET /pay/{token}/state?wait=N&since=phase`` — the page's view of the order as JSON; with
  ``wait`` it answers when the phase changes or after N seconds (long poll).
- ``POST /pay/{token}/confirm`` — "I have paid", optionally with the receipt (multipart ``receipt``).
- ``POST /pay/{token}/cancel`` — the customer cancels, where the store allows it.
- ``GET /pay-assets/…`` — the page's CSS and script (content-hashed names, cached for a year) and
  the store's accent colour as a stylesheet (no inline style: the page's CSP allows none).

The token is the authorisation: a bad or expired one is a plain 404 page. The JSON answers
and errors are the API's (the error format of docs/api.md); a form posted without JavaScript
is answered with a redirect back to the page.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from litestar import MediaType, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import Parameter
from litestar.response import Redirect
from markupsafe import Markup

from jivapay.adapters.resources import get_resources
from jivapay.adapters.storage import storage_for
from jivapay.domain.errors import JivaPayError, NotFound, ValidationFailed
from jivapay.domain.merchants import payment_page as page
from jivapay.domain.orders.status import Party
from jivapay.http.deps import client_ip, transaction
from jivapay.services.merchants import gateway
from jivapay.services.merchants import payment_page as pages
from jivapay.services.orders import receipts
from jivapay.services.platform.config import get_config
from jivapay.settings import get_settings

MAX_WAIT_SECONDS = 25
POLL_SECONDS = 0.5
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_PAGE_HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-store"}
_ASSET_CACHE = "public, max-age=31536000, immutable"

_env = Environment(
    loader=PackageLoader("jivapay", "templates/payment_page"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclasses.dataclass(frozen=True, slots=True)
class _Asset:
    name: str  # as served: page.<hash>.css
    body: bytes
    media_type: str


def _load_assets() -> dict[str, _Asset]:
    found = {}
    folder = resources.files("jivapay") / "templates" / "payment_page" / "assets"
    for source, media_type in (("page.css", "text/css"), ("page.js", "text/javascript")):
        body = (folder / source).read_bytes()
        stem, _, extension = source.partition(".")
        name = f"{stem}.{hashlib.sha256(body).hexdigest()[:12]}.{extension}"
        found[source] = _Asset(name, body, media_type)
    return found


ASSETS = _load_assets()
_BY_NAME = {asset.name: asset for asset in ASSETS.values()}


def _json_for_script(data: Any) -> Markup:
    """JSON safe inside ``<script type="application/json">`` (no ``</script>`` can close it)."""
    text = json.dumps(data, ensure_ascii=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))  # noqa: S704


def _html(body: str, status: int = 200) -> Response[str]:
    return Response(body, status_code=status, media_type=MediaType.HTML, headers=_PAGE_HEADERS)


def _not_found(request: Request[Any, Any, Any]) -> Response[str]:
    language = page.choose_language(request.query_params.get("lang"), request.headers.get("accept-language"), None)
    body = _env.get_template("not_found.html").render(
        lang=language, t=page.TEXTS[language], css=ASSETS["page.css"].name
    )
    return _html(body, 404)


async def _open(token: str) -> tuple[int, int, pages.Branding]:
    """The token's store and order, and the store's branding; NotFound for anything wrong."""
    store_id, incoming_id = pages.open_token(get_settings(), token)
    async with transaction("payment_page.open") as session:
        brand = await pages.branding(session, store_id)
    return store_id, incoming_id, brand


async def _order(store_id: int, incoming_id: int, brand: pages.Branding) -> pages.PageOrder:
    async with transaction("payment_page.read") as session:
        return await pages.page_order(session, get_settings(), store_id, incoming_id, brand)


@get("/pay/{token:str}", include_in_schema=False, opt={"payment_page": True})
async def payment_page(request: Request[Any, Any, Any], token: str) -> Response[str]:
    try:  # one short transaction for all the page reads
        store_id, incoming_id = pages.open_token(get_settings(), token)
        async with transaction("payment_page") as session:
            brand = await pages.branding(session, store_id)
            order = await pages.page_order(session, get_settings(), store_id, incoming_id, brand)
            language = page.choose_language(
                request.query_params.get("lang"), request.headers.get("accept-language"), brand.language
            )
            how_to = await pages.instructions(session, order.payment_method, language)
            max_bytes = await get_config("RECEIPT_MAX_BYTES", int, session=session)
    except NotFound:
        return _not_found(request)
    texts = page.TEXTS[language]
    max_mb = f"{max_bytes / 1_048_576:.0f}" if max_bytes % 1_048_576 == 0 else f"{max_bytes / 1_048_576:.1f}"
    method = order.payment_method or ""
    data = {
        "base": f"/pay/{token}",
        "lang": language,
        "order": dataclasses.asdict(order),
        "texts": dict(texts),
        "max_bytes": max_bytes,
        "max_mb": max_mb,
        "redirect_seconds": page.REDIRECT_SECONDS,
    }
    body = _env.get_template("page.html").render(
        lang=language,
        other_languages=[code for code in page.LANGUAGES if code != language],
        t=texts,
        o=order,
        brand=brand,
        method_name=page.METHOD_NAMES.get(method, {}).get(language, method),
        number_label=texts.get(f"number_{(order.requisite or {}).get('type', '')}", texts["number"]),
        instructions=how_to,
        max_mb=max_mb,
        error=request.query_params.get("error"),
        base=f"/pay/{token}",
        css=ASSETS["page.css"].name,
        js=ASSETS["page.js"].name,
        theme=f"theme-{brand.accent.removeprefix('#')}.css",
        data=_json_for_script(data),
        redirect_seconds=page.REDIRECT_SECONDS,
    )
    return _html(body)


@get("/pay/{token:str}/state", include_in_schema=False)
async def payment_page_state(
    token: str,
    wait: int = Parameter(default=0, ge=0, le=MAX_WAIT_SECONDS, description="seconds to wait for a change"),
    since: str | None = Parameter(default=None, max_length=20, description="the phase the page shows"),
) -> Response[bytes]:
    store_id, incoming_id, brand = await _open(token)
    order = await _order(store_id, incoming_id, brand)
    first = since or order.phase
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while wait and order.phase == first and loop.time() < deadline:
        await asyncio.sleep(min(POLL_SECONDS, max(deadline - loop.time(), 0)))
        order = await _order(store_id, incoming_id, brand)
    return _answer(order)


def _answer(order: pages.PageOrder) -> Response[bytes]:
    return Response(
        json.dumps(dataclasses.asdict(order)).encode(),
        media_type=MediaType.JSON,
        headers={"Cache-Control": "no-store"},
    )


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    return "application/json" in request.headers.get("accept", "")


async def _after_form(request: Request[Any, Any, Any], token: str, action: Any) -> Response[bytes] | Redirect:
    """Run the page's action: JSON for its script (errors in the API's format), a redirect back
    to the page for a form posted without JavaScript (``?error=<code>`` when it failed)."""
    if _wants_json(request):
        return _answer(await action())
    try:
        await action()
    except JivaPayError as exc:
        if isinstance(exc, NotFound):
            raise
        return Redirect(f"/pay/{token}?error={exc.code}", status_code=303)
    return Redirect(f"/pay/{token}", status_code=303)


@post("/pay/{token:str}/confirm", include_in_schema=False, status_code=200)
async def payment_page_confirm(request: Request[Any, Any, Any], token: str) -> Response[bytes] | Redirect:
    store_id, incoming_id, brand = await _open(token)
    settings = get_settings()
    actor = pages.customer(incoming_id)
    ip = client_ip(request)

    async def confirm() -> pages.PageOrder:
        upload = await _receipt(request)
        stored = None
        if upload is not None:  # checked and stored before the confirmation, recorded with it
            async with transaction("payment_page.receipt_target") as session:
                assigned = await gateway.assigned_order_id(session, store_id, incoming_id)
            stored = await receipts.store_file(
                get_resources().session_factory,
                storage_for(settings),
                order_id=assigned,
                party=Party.CUSTOMER,
                data=upload[0],
                content_type=upload[1],
                store_id=store_id,
            )
        async with transaction("payment_page.confirm") as session:
            await gateway.confirm_payin(session, store_id, incoming_id, actor=actor, ip=ip)
            if stored is not None:
                await receipts.record_receipt(session, stored, actor=actor, ip=ip)
        return await _order(store_id, incoming_id, brand)

    return await _after_form(request, token, confirm)


async def _receipt(request: Request[Any, Any, Any]) -> tuple[bytes, str] | None:
    """The optional receipt of the "I have paid" form (an empty file field is no receipt)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return None
    try:
        form = await request.form()
    except Exception:  # noqa: BLE001 - a body that is not valid multipart
        raise ValidationFailed("the body is not valid multipart/form-data", field="receipt") from None
    value = form.get("receipt")
    if not isinstance(value, UploadFile):
        return None
    data = await value.read()
    if not data and not value.filename:
        return None
    return data, value.content_type


@post("/pay/{token:str}/cancel", include_in_schema=False, status_code=200)
async def payment_page_cancel(request: Request[Any, Any, Any], token: str) -> Response[bytes] | Redirect:
    store_id, incoming_id, brand = await _open(token)

    async def cancel() -> pages.PageOrder:
        async with transaction("payment_page.cancel") as session:
            await pages.cancel(session, store_id, incoming_id, ip=client_ip(request))
        return await _order(store_id, incoming_id, brand)

    return await _after_form(request, token, cancel)


@get("/pay-assets/{name:str}", include_in_schema=False)
async def payment_page_asset(name: str) -> Response[bytes]:
    """The page's CSS and script by content-hashed name, ``theme-<rrggbb>.css`` (the accent) and
    ``logo-<sha256>.png|jpg`` (a store's logo)."""
    asset = _BY_NAME.get(name)
    if asset is not None:
        return Response(asset.body, media_type=asset.media_type, headers={"Cache-Control": _ASSET_CACHE})
    if name.startswith("logo-"):
        async with transaction("payment_page.logo") as session:
            logo = await pages.logo_file(session, name)
        if logo is not None:
            return Response(logo[0], media_type=logo[1], headers={"Cache-Control": _ASSET_CACHE})
    if name.startswith("theme-") and name.endswith(".css") and page.is_colour("#" + name[6:-4]):
        accent = "#" + name[6:-4].lower()
        css = f":root{{--accent:{accent};--on-accent:{page.text_colour_on(accent)}}}\n"
        return Response(css.encode(), media_type="text/css", headers={"Cache-Control": _ASSET_CACHE})
    raise NotFound("No such file")


HANDLERS = [
    payment_page,
    payment_page_state,
    payment_page_confirm,
    payment_page_cancel,
    payment_page_asset,
]
