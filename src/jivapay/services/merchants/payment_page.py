"""The customer's hosted payment page (``/pay/{token}``): what it shows of one pay-in, and the two
things the customer may do there — say they paid (with a receipt), and cancel when the store
allows it.

The page is opened by the order token the pay-in init returned (its ``payment_page_url``): a
bad or expired token is a plain 404, and the page shows nothing but this order — no internal
ids, the recipient's name masked as the gateway masks it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.merchants.stores import StoreRepository
from jivapay.domain.errors import Conflict, NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from jivapay.domain.merchants import payment_page as page
from jivapay.domain.orders.status import Party
from jivapay.domain.platform.audit import Actor, Target
from jivapay.services.merchants import gateway
from jivapay.services.merchants.stores import get_store, owned_store
from jivapay.services.orders import views as order_views
from jivapay.services.orders.status import change_status
from jivapay.services.platform.audit import log_action
from jivapay.services.platform.config import get_config
from jivapay.settings import Settings


@dataclasses.dataclass(frozen=True, slots=True)
class Branding:
    store_name: str
    accent: str  # #rrggbb
    on_accent: str  # the text colour that reads on it
    language: str | None  # the store's default, when the browser asks for neither of ours
    customer_can_cancel: bool
    logo: str | None = None  # its file name under /pay-assets/


@dataclasses.dataclass(frozen=True, slots=True)
class PageOrder:
    """One pay-in as the page (and its script, as JSON) sees it."""

    phase: str  # searching | pay | checking | disputed | completed | canceled | expired | failed
    status: str
    final: bool
    merchant_order_id: str
    amount: str
    pay_amount: str | None
    shifted: bool  # pay_amount differs from amount (the unique-amount rule moved it)
    currency: str
    payment_method: str | None
    requisite: dict[str, Any] | None  # type, bank, number, owner_name (masked)
    expires_at: str | None  # while the customer is to pay: until when
    now: str  # the server's clock, so the countdown does not trust the device's
    return_url: str | None  # once final: where the page sends the customer
    can_confirm: bool
    can_cancel: bool


def open_token(settings: Settings, token: str) -> tuple[int, int]:
    """(store id, incoming order id) of the page's token; NotFound for any bad or expired one."""
    try:
        return gateway.read_order_token(settings, token)
    except NotAuthenticated:
        raise NotFound("No such payment page") from None


async def branding(session: AsyncSession, store_id: int) -> Branding:
    store = await get_store(session, store_id)
    options = dict(store.settings or {})
    accent = options.get("brand_color") or page.DEFAULT_ACCENT
    logo = await StoreRepository(session).logo_of(store_id)
    return Branding(
        store_name=store.name,
        accent=accent,
        on_accent=page.text_colour_on(accent),
        language=options.get("page_language"),
        customer_can_cancel=bool(options.get("customer_can_cancel", False)),
        logo=page.logo_name(*logo) if logo else None,
    )


async def logo_url(session: AsyncSession, store_id: int) -> str | None:
    logo = await StoreRepository(session).logo_of(store_id)
    return f"/pay-assets/{page.logo_name(*logo)}" if logo else None


async def set_logo(
    session: AsyncSession,
    actor: Actor,
    *,
    merchant_id: int,
    store_id: int,
    data: bytes,
    content_type: str,
    ip: str | None = None,
) -> str:
    """The merchant's logo for the store's payment page (PNG or JPEG up to 100 KB); its URL."""
    await owned_store(session, merchant_id, store_id)
    problem = page.logo_problem(data, content_type)
    if problem:
        raise ValidationFailed(problem, field="file")
    sha256 = hashlib.sha256(data).hexdigest()
    await StoreRepository(session).put_logo(store_id, sha256, content_type, data)
    await log_action(
        session, actor, "store.logo", Target.of("store", store_id), {"sha256": sha256, "size": len(data)}, ip=ip
    )
    return f"/pay-assets/{page.logo_name(sha256, content_type)}"


async def drop_logo(
    session: AsyncSession, actor: Actor, *, merchant_id: int, store_id: int, ip: str | None = None
) -> None:
    await owned_store(session, merchant_id, store_id)
    if await StoreRepository(session).drop_logo(store_id):
        await log_action(session, actor, "store.logo_removed", Target.of("store", store_id), {}, ip=ip)


async def logo_file(session: AsyncSession, name: str) -> tuple[bytes, str] | None:
    """A logo by its file name under /pay-assets/ (None: no such logo)."""
    stem, _, extension = name.removeprefix("logo-").partition(".")
    if len(stem) != 64 or not all(c in "0123456789abcdef" for c in stem):
        return None
    found = await StoreRepository(session).logo_by_hash(stem)
    if found is None or page.LOGO_TYPES[found[1]][1] != extension:
        return None
    return found


async def page_order(
    session: AsyncSession, settings: Settings, store_id: int, incoming_id: int, brand: Branding
) -> PageOrder:
    incoming = await order_views.store_incoming(session, store_id, incoming_id)
    if incoming.direction != "payin":
        raise NotFound("No such payment page")
    view = await order_views.view_of(session, settings, incoming, reveal=True)
    phase = page.phase_of(view["status"])
    final = phase in page.FINAL_PHASES
    pay_amount = view["pay_amount"]
    return PageOrder(
        phase=phase,
        status=view["status"],
        final=final,
        merchant_order_id=view["merchant_order_id"],
        amount=view["amount"],
        pay_amount=pay_amount,
        shifted=pay_amount is not None and pay_amount != view["amount"],
        currency=view["currency"],
        payment_method=view["payment_method"],
        requisite=_requisite(view["requisite"]) if phase == "pay" else None,
        expires_at=view["expires_at"] if phase == "pay" else None,
        now=dt.datetime.now(dt.UTC).isoformat(),
        return_url=return_url(incoming.return_url, view["status"], view["merchant_order_id"]) if final else None,
        can_confirm=phase == "pay",
        can_cancel=phase == "pay" and brand.customer_can_cancel,
    )


def _requisite(requisite: dict[str, Any] | None) -> dict[str, Any] | None:
    if requisite is None:
        return None
    return {**requisite, "display": page.display_number(requisite.get("type"), requisite.get("number") or "")}


def return_url(base: str | None, status: str, merchant_order_id: str) -> str | None:
    """The store's return_url with the outcome added: ``status`` (the order's final status) and
    ``merchant_order_id`` (the store's own id), after any query it already has."""
    if not base:
        return None
    parts = urlsplit(base)
    extra = urlencode({"status": status, "merchant_order_id": merchant_order_id})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))


async def instructions(session: AsyncSession, method: str | None, language: str) -> str:
    overrides = await get_config("PAYMENT_PAGE_INSTRUCTIONS", object, {}, session=session)
    return page.instructions_for(method, language, overrides if isinstance(overrides, dict) else None)


async def cancel(session: AsyncSession, store_id: int, incoming_id: int, *, ip: str | None = None) -> None:
    """The customer cancels before paying — only where the store allows it (``customer_can_cancel``)."""
    store = await get_store(session, store_id)
    if not (store.settings or {}).get("customer_can_cancel", False):
        raise PermissionDenied("This store does not let customers cancel", reason="customer_cancel_off")
    incoming = await order_views.store_incoming(session, store_id, incoming_id)
    if incoming.direction != "payin" or incoming.order_id is None:
        raise Conflict("Only a pay-in with payment details can be canceled here", current_status=incoming.status)
    await change_status(
        session,
        incoming.order_id,
        "canceled",
        party=Party.CUSTOMER,
        actor=customer(incoming_id),
        store_id=store_id,
        ip=ip,
    )


def customer(incoming_id: int) -> Actor:
    return gateway.customer_actor(incoming_id)
