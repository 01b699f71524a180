"""A store's settings and its callbacks: deliveries with their attempts, redeliver, a test event."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, ClassVar, cast

import msgspec
from litestar import Request
from litestar.params import Parameter
from litestar.status_codes import HTTP_202_ACCEPTED

from jivapay.adapters.db.models import CallbackAttempt, CallbackEvent
from jivapay.domain.errors import NotFound
from jivapay.domain.merchants.urls import check_merchant_url
from jivapay.http.deps import MultipartForm, client_ip, current_principal, form_file, transaction
from jivapay.http.enums import BrandColour, CallbackStatus, DecimalText, Direction, PageLanguageChoice
from jivapay.http.guards import forget_api_keys
from jivapay.http.routes import RouteGroup
from jivapay.services.ledger.commissions import commission_table
from jivapay.services.merchants import callbacks, payment_page
from jivapay.services.merchants import stores as store_service
from jivapay.services.orders import refs as order_refs
from jivapay.settings import get_settings

merchant_routes = RouteGroup("merchant")


class StoreUpdate(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"name": "Coffee Beans Shop EU", "is_active": True}

    name: str | None = None
    is_active: bool | None = None


class StoreRow(msgspec.Struct):
    id: int
    name: str
    is_active: bool


class StoreCommissionRow(msgspec.Struct):
    direction: Direction
    payment_method_id: int | None  # None: every method without its own rate
    rate: DecimalText  # a fraction: "0.05" is 5 %
    default: bool  # the platform's default (no rate set for this store)


class StoreSettings(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {
        "callback_url": "https://shop.example/jivapay/callback",
        "payment_methods": ["card", "sbp"],
        "default_currency": "RUB",
        "page_language": "en",
        "brand_color": "#1f6feb",
        "customer_can_cancel": True,
    }

    callback_url: str | msgspec.UnsetType | None = msgspec.UNSET
    payment_methods: list[str] | msgspec.UnsetType | None = msgspec.UNSET
    default_currency: str | msgspec.UnsetType | None = msgspec.UNSET
    # the hosted payment page (docs/payment-page.md); null resets to the default
    page_language: PageLanguageChoice | msgspec.UnsetType | None = msgspec.UNSET  # when the browser asks for neither
    brand_color: BrandColour | msgspec.UnsetType | None = msgspec.UNSET  # #RRGGBB, the page's accent colour
    customer_can_cancel: bool | msgspec.UnsetType | None = msgspec.UNSET  # a "cancel payment" button


class StoreSettingsBody(msgspec.Struct):
    callback_url: str | None
    payment_methods: list[str] | None
    default_currency: str | None
    page_language: PageLanguageChoice | None = None
    brand_color: BrandColour | None = None
    customer_can_cancel: bool = False
    logo_url: str | None = None  # set with PUT /merchant/stores/{id}/logo


class AttemptBody(msgspec.Struct):
    attempt: int
    status_code: int | None
    latency_ms: int
    response_snippet: str | None
    error: str | None
    at: dt.datetime


class CallbackBody(msgspec.Struct):
    event_id: str
    type: str
    order_id: str | None  # the order's public reference (ord_…)
    sequence: int
    url: str
    status: CallbackStatus
    attempts: int
    next_attempt_at: dt.datetime | None
    last_status_code: int | None
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    payload: dict[str, Any]
    history: list[AttemptBody] | None = None


class CallbackPage(msgspec.Struct):
    data: list[CallbackBody]
    has_more: bool
    next_starting_after: int | None


class TestEvent(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"url": "https://shop.example/jivapay/callback"}

    url: str | None = None


class QueuedBody(msgspec.Struct):
    event_id: str
    status: CallbackStatus


def _settings_body(raw: dict[str, Any] | None, logo_url: str | None = None) -> StoreSettingsBody:
    raw = raw or {}
    return StoreSettingsBody(
        raw.get("callback_url"),
        raw.get("payment_methods"),
        raw.get("default_currency"),
        raw.get("page_language"),
        raw.get("brand_color"),
        bool(raw.get("customer_can_cancel", False)),
        logo_url,
    )


def _callback_body(
    event: CallbackEvent, references: dict[int, str], attempts: list[CallbackAttempt] | None = None
) -> CallbackBody:
    return CallbackBody(
        event_id=str(event.event_id),
        type=event.type,
        order_id=references.get(event.incoming_order_id) if event.incoming_order_id is not None else None,
        sequence=event.sequence,
        url=event.url,
        status=cast(CallbackStatus, event.status),
        attempts=event.attempts,
        next_attempt_at=event.next_attempt_at if event.status == "pending" else None,
        last_status_code=event.last_status_code,
        created_at=event.created_at,
        delivered_at=event.delivered_at,
        payload=event.payload,
        history=None
        if attempts is None
        else [
            AttemptBody(a.attempt, a.status_code, a.latency_ms, a.response_snippet, a.error, a.created_at)
            for a in attempts
        ],
    )


def _event_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound("Callback event not found", event_id=raw) from None


@merchant_routes.patch(
    "/stores/{store_id:int}",
    operation_id="merchant_update_store",
    description="Rename a store, or pause it (is_active=false: the gateway refuses its API keys) and resume it.",
)
async def update_store(request: Request[Any, Any, Any], store_id: int, data: StoreUpdate) -> StoreRow:
    principal = current_principal(request)
    async with transaction() as session:
        store = await store_service.update_store(
            session,
            principal.actor,
            merchant_id=principal.user_id,
            store_id=store_id,
            name=data.name,
            is_active=data.is_active,
            ip=client_ip(request),
        )
        row = StoreRow(store.id, store.name, store.is_active)
    forget_api_keys()  # a paused store's keys stop at once here, within 2 s elsewhere
    return row


@merchant_routes.get(
    "/stores/{store_id:int}/commissions",
    operation_id="merchant_store_commissions",
    description="The commissions the platform takes from this store's pay-ins and pay-outs (set by an admin).",
)
async def store_commissions(request: Request[Any, Any, Any], store_id: int) -> list[StoreCommissionRow]:
    async with transaction() as session:
        await store_service.owned_store(session, current_principal(request).user_id, store_id)
        table = await commission_table(session, "store", store_id)
    return [StoreCommissionRow(cast(Direction, d), pm, str(rate), default) for d, pm, rate, default in table]


@merchant_routes.get("/stores/{store_id:int}/settings", operation_id="merchant_get_store_settings")
async def get_store_settings(request: Request[Any, Any, Any], store_id: int) -> StoreSettingsBody:
    async with transaction() as session:
        store = await store_service.owned_store(session, current_principal(request).user_id, store_id)
        return _settings_body(store.settings, await payment_page.logo_url(session, store_id))


@merchant_routes.put(
    "/stores/{store_id:int}/settings",
    operation_id="merchant_update_store_settings",
    description="Only the fields sent change; null removes a setting. callback_url is the default for orders "
    "that do not give one; payment_methods limits what the gateway accepts.",
)
async def update_store_settings(
    request: Request[Any, Any, Any], store_id: int, data: StoreSettings
) -> StoreSettingsBody:
    principal = current_principal(request)
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    async with transaction() as session:
        store = await store_service.update_store_settings(
            session,
            get_settings(),
            principal.actor,
            merchant_id=principal.user_id,
            store_id=store_id,
            changes=changes,
            ip=client_ip(request),
        )
        return _settings_body(store.settings, await payment_page.logo_url(session, store_id))


class LogoBody(msgspec.Struct):
    logo_url: str  # where the payment page loads it (a new logo gets a new URL)


@merchant_routes.put(
    "/stores/{store_id:int}/logo",
    operation_id="merchant_set_store_logo",
    summary="Set the store's logo for the payment page",
    description="multipart/form-data with the image (PNG or JPEG, at most 100 KB) in the field `data`; it "
    "replaces the previous one. The payment page shows it beside the store's name.",
)
async def set_store_logo(request: Request[Any, Any, Any], store_id: int, data: MultipartForm) -> LogoBody:
    principal = current_principal(request)
    async with transaction("merchant.logo_target") as session:
        await store_service.owned_store(session, principal.user_id, store_id)  # 404 before the file is judged
    upload = form_file(data, "data")
    content = await upload.read()
    async with transaction("merchant.logo") as session:
        url = await payment_page.set_logo(
            session,
            principal.actor,
            merchant_id=principal.user_id,
            store_id=store_id,
            data=content,
            content_type=upload.content_type,
            ip=client_ip(request),
        )
    return LogoBody(url)


@merchant_routes.delete("/stores/{store_id:int}/logo", operation_id="merchant_remove_store_logo", status_code=204)
async def remove_store_logo(request: Request[Any, Any, Any], store_id: int) -> None:
    principal = current_principal(request)
    async with transaction("merchant.logo_removed") as session:
        await payment_page.drop_logo(
            session, principal.actor, merchant_id=principal.user_id, store_id=store_id, ip=client_ip(request)
        )


@merchant_routes.get("/stores/{store_id:int}/callbacks", operation_id="merchant_list_callbacks")
async def list_callbacks(
    request: Request[Any, Any, Any],
    store_id: int,
    order_id: str | None = Parameter(default=None, description="only this order's events (its ord_… reference)"),
    starting_after: int | None = Parameter(default=None, description="next_starting_after of the previous page"),
    limit: int = Parameter(default=50, ge=1, le=200),
) -> CallbackPage:
    async with transaction() as session:
        await store_service.owned_store(session, current_principal(request).user_id, store_id)
        incoming_id = None
        if order_id is not None:
            try:
                incoming_id = await order_refs.merchant_incoming_id(session, store_id, order_id)
            except NotFound:
                return CallbackPage([], False, None)  # no such order in this store: no events
        events = await callbacks.events_of_store(
            session, store_id, starting_after=starting_after, limit=limit + 1, incoming_order_id=incoming_id
        )
        page = events[:limit]
        references = await order_refs.incoming_references(
            session, [e.incoming_order_id for e in page if e.incoming_order_id is not None]
        )
    more = len(events) > limit
    return CallbackPage([_callback_body(e, references) for e in page], more, page[-1].id if more and page else None)


@merchant_routes.get("/stores/{store_id:int}/callbacks/{event_id:str}", operation_id="merchant_get_callback")
async def get_callback(request: Request[Any, Any, Any], store_id: int, event_id: str) -> CallbackBody:
    async with transaction() as session:
        await store_service.owned_store(session, current_principal(request).user_id, store_id)
        event = await callbacks.event_of_store(session, store_id, _event_id(event_id))
        ids = [event.incoming_order_id] if event.incoming_order_id is not None else []
        references = await order_refs.incoming_references(session, ids)
        return _callback_body(event, references, await callbacks.attempts_of(session, event.id))


@merchant_routes.post(
    "/stores/{store_id:int}/callbacks/{event_id:str}/redeliver",
    operation_id="merchant_redeliver_callback",
    status_code=HTTP_202_ACCEPTED,
)
async def redeliver_callback(request: Request[Any, Any, Any], store_id: int, event_id: str) -> QueuedBody:
    principal = current_principal(request)
    async with transaction() as session:
        await store_service.owned_store(session, principal.user_id, store_id)
        await callbacks.redeliver(session, store_id, _event_id(event_id), principal.actor, client_ip(request))
    return QueuedBody(event_id, "pending")


@merchant_routes.post(
    "/stores/{store_id:int}/callbacks/test",
    operation_id="merchant_test_callback",
    status_code=HTTP_202_ACCEPTED,
    description="Queues a signed `test` event to `url` (or the store's callback_url).",
)
async def test_callback(request: Request[Any, Any, Any], store_id: int, data: TestEvent) -> QueuedBody:
    principal = current_principal(request)
    settings = get_settings()
    async with transaction() as session:
        await store_service.owned_store(session, principal.user_id, store_id)
        url = check_merchant_url(data.url, https_only=settings.callback_urls_https_only, field="url")
        event = await callbacks.record_test_event(session, store_id, url, principal.actor, client_ip(request))
        return QueuedBody(str(event.event_id), cast(CallbackStatus, event.status))


handlers = [
    update_store,
    store_commissions,
    get_store_settings,
    update_store_settings,
    set_store_logo,
    remove_store_logo,
    list_callbacks,
    get_callback,
    redeliver_callback,
    test_callback,
]
