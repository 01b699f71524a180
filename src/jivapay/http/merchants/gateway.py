"""The public gateway (`/gateway/*`): a store's `X-API-Key`, or an order token for one order.

Every POST honours `Idempotency-Key` (see services/merchants/idempotency.py): the response is built
as bytes so that a replay is the same bytes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, NoReturn

import msgspec
from litestar import MediaType, Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import UploadFile
from litestar.handlers import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.resources import get_resources
from jivapay.adapters.storage import storage_for
from jivapay.domain import money
from jivapay.domain.errors import JivaPayError, NotAuthenticated, NotFound, ValidationFailed
from jivapay.domain.orders.payouts import describe_rules
from jivapay.domain.orders.status import Party, is_order_reference
from jivapay.http.deps import client_ip, current_store, form_file, read_only, transaction
from jivapay.http.enums import DecimalText, Direction, PublicOrderStatus
from jivapay.http.errors import error_body
from jivapay.http.guards import require_store
from jivapay.http.openapi import JSONValue, document
from jivapay.http.routes import RouteGroup
from jivapay.services.merchants import gateway, idempotency
from jivapay.services.merchants.stores import StoreIdentity, store_name
from jivapay.services.orders import receipts
from jivapay.services.orders import refs as order_refs
from jivapay.services.orders import views as order_views
from jivapay.settings import get_settings

gateway_routes = RouteGroup("gateway", guards=[require_store])

MAX_WAIT_SECONDS = 30
POLL_SECONDS = 0.5
Wait = Parameter(default=0, ge=0, le=MAX_WAIT_SECONDS, description="seconds to wait for a change")


class GatewayStoreBody(msgspec.Struct):
    store_id: int
    name: str


class PayinInit(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {
        "amount": "1500.00",
        "currency": "RUB",
        "payment_method": "card",
        "merchant_order_id": "order-1001",
        "client_id": "customer-42",
        "callback_url": "https://merchant.example/jivapay/callback",
    }

    amount: money.DecimalText  # decimal string in the currency's precision, e.g. "1500.00"
    currency: str
    payment_method: str
    merchant_order_id: str
    bank: str | None = None
    client_id: str | None = None
    client_ip: str | None = None
    client_card_bin: str | None = None  # the first 6-8 digits of the customer's card, when known (fraud rules)
    callback_url: str | None = None
    return_url: str | None = None


class RecipientBody(msgspec.Struct, forbid_unknown_fields=True):
    number: str  # card, phone or account number, as the payment method needs (see the pay-out init)
    name: str  # the recipient's full name
    bank: str | None = None  # the recipient's bank; required for sbp and account


class PayoutInit(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {
        "amount": "900.00",
        "currency": "RUB",
        "payment_method": "card",
        "merchant_order_id": "payout-77",
        "recipient": {"number": "2200 0000 0000 0004", "name": "Anna Smirnova"},
    }

    amount: money.DecimalText
    currency: str
    payment_method: str
    merchant_order_id: str
    recipient: RecipientBody
    bank: str | None = None
    client_id: str | None = None
    callback_url: str | None = None


class RequisiteView(msgspec.Struct):
    type: str
    bank: str | None
    owner_name: str
    number: str


class GatewayOrder(msgspec.Struct):
    id: str  # the order's public reference (ord_…), the same in every view, callback and export
    merchant_order_id: str
    direction: Direction
    status: PublicOrderStatus  # docs/integration.md, "Reference"
    amount: DecimalText
    currency: str
    payment_method: str | None
    created_at: dt.datetime  # RFC 3339, UTC ("…Z"), as every time in the API
    expires_at: dt.datetime | None  # the current deadline (to pay, to confirm…)
    failure_reason: str | None
    pay_amount: DecimalText | None  # what to pay exactly (may differ from amount by the smallest unit)
    requisite: RequisiteView | None
    recipient_last4: str | None
    rate: DecimalText | None = None
    order_token: str | None = None  # init only: lets the customer's browser read and confirm this order
    payment_page_url: str | None = None  # pay-in init only: the hosted page to send the customer to


_TOKEN_EXAMPLE = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl"  # noqa: S105 - a sample
INIT_EXAMPLE = {
    "id": "ord_4k9x2m7q1w8e5r3t6y0u2i",
    "merchant_order_id": "order-1001",
    "direction": "payin",
    "status": "processing",
    "amount": "1500.00",
    "currency": "RUB",
    "payment_method": "card",
    "created_at": "2026-11-25T16:40:12.123456Z",
    "expires_at": None,
    "failure_reason": None,
    "pay_amount": None,
    "requisite": None,
    "recipient_last4": None,
    "order_token": _TOKEN_EXAMPLE,
    "payment_page_url": f"https://pay.example.com/pay/{_TOKEN_EXAMPLE}",
}
CONFIRMED_EXAMPLE = {
    **{k: v for k, v in INIT_EXAMPLE.items() if k not in ("order_token", "payment_page_url")},
    "status": "client_confirmed",
    "expires_at": "2026-11-25T17:12:40.000000Z",
    "pay_amount": "1500.01",
    "rate": "92.50000000",
    "requisite": {"type": "card", "bank": "Sberbank", "owner_name": "Ivan P.", "number": "4276160000000019"},
}


def _encode(view: dict[str, Any], token: str | None = None, page_base: str | None = None) -> bytes:
    if token is not None:
        view = {**view, "order_token": token}
        if page_base is not None:
            view["payment_page_url"] = f"{page_base}/pay/{token}"
    return msgspec.json.encode(view)


def public_base(request: Request[Any, Any, Any]) -> str:
    """Where customers reach us: PUBLIC_URL, else the address this request came to."""
    configured = get_settings().public_url
    return (configured or str(request.base_url)).rstrip("/")


def _error_bytes(exc: JivaPayError) -> bytes:
    return msgspec.json.encode(error_body(exc.code, exc.message, exc.details))


async def _idempotent(
    request: Request[Any, Any, Any],
    store_id: int,
    work: Callable[[AsyncSession], Awaitable[tuple[int, bytes]]],
    *,
    prepare: Callable[[], Awaitable[None]] | None = None,
    fingerprint: bytes | None = None,
) -> Response[bytes]:
    """Run ``work`` in one transaction, honouring the request's Idempotency-Key.

    ``prepare`` runs before that transaction and only once the key is reserved (a replay or a
    409 never reaches it): the place for what cannot roll back, such as storing a file.
    ``fingerprint`` stands for the body in the request hash (a multipart body's boundary is
    random, so a client's retry of the same form has other bytes).
    """
    factory = get_resources().session_factory
    raw_key = request.headers.get("idempotency-key")
    if raw_key is None:
        if prepare is not None:
            await prepare()
        async with transaction() as session:
            status, body = await work(session)
        return Response(body, status_code=status, media_type=MediaType.JSON)
    key = idempotency.check_key(raw_key)
    token_order = request.scope.get("state", {}).get("order_token_order")
    if token_order is not None:  # the customer's keys are its order's, never the store's (_incoming_id checked it)
        key = idempotency.order_key(key, int(token_order))
    body_bytes = fingerprint if fingerprint is not None else await request.body()
    hash_ = idempotency.request_hash(request.method, request.url.path, body_bytes)
    if prepare is None:
        return await _idempotent_in_one_transaction(store_id, key, hash_, work)
    stored = await idempotency.reserve(factory, store_id, key, hash_)
    if stored is not None:
        return _replay(stored)
    try:
        if prepare is not None:
            await prepare()
        async with transaction() as session:
            status, body = await work(session)
            await idempotency.complete(session, store_id, key, status, body)
    except JivaPayError as exc:
        if exc.status_code >= 500:
            await idempotency.release(factory, store_id, key)
            raise
        body = _error_bytes(exc)
        async with transaction("idempotency.store_error") as session:
            await idempotency.complete(session, store_id, key, exc.status_code, body)
        return Response(body, status_code=exc.status_code, media_type=MediaType.JSON)
    except BaseException:
        await idempotency.release(factory, store_id, key)
        raise
    return Response(body, status_code=status, media_type=MediaType.JSON)


def _replay(stored: idempotency.Stored) -> Response[bytes]:
    return Response(
        stored.body, status_code=stored.status, media_type=MediaType.JSON, headers={"Idempotent-Replayed": "true"}
    )


class _Answered(Exception):
    """Not an error: the key's stored answer, carried out of the transaction (which holds nothing)."""

    def __init__(self, stored: idempotency.Stored) -> None:
        self.stored = stored


async def _idempotent_in_one_transaction(
    store_id: int, key: str, hash_: str, work: Callable[[AsyncSession], Awaitable[tuple[int, bytes]]]
) -> Response[bytes]:
    """The key's reservation, the work and its stored answer in one transaction (a concurrent
    duplicate waits for it, then replays). A business error rolls the work back; its answer is
    stored afterwards, unless a duplicate's answer got there first."""
    try:
        async with transaction("gateway.idempotent") as session:
            stored = await idempotency.claim(session, store_id, key, hash_)
            if stored is not None:
                raise _Answered(stored)
            try:
                status, body = await work(session)
            except JivaPayError as exc:
                if exc.status_code >= 500:
                    raise
                raise _Failed(exc) from exc
            await idempotency.complete(session, store_id, key, status, body)
    except _Answered as answered:
        return _replay(answered.stored)
    except _Failed as failed:
        error = failed.error
        body = _error_bytes(error)
        factory = get_resources().session_factory
        stored = await idempotency.answer(factory, store_id, key, hash_, error.status_code, body)
        if stored is not None:
            return _replay(stored)
        return Response(body, status_code=error.status_code, media_type=MediaType.JSON)
    return Response(body, status_code=status, media_type=MediaType.JSON)


class _Failed(Exception):
    """A business error, carried out of the transaction so that the work rolls back."""

    def __init__(self, error: JivaPayError) -> None:
        self.error = error


async def _init(request: Request[Any, Any, Any], direction: str, data: Any, **extra: Any) -> Response[bytes]:
    """Both inits: the order, its view (the pay-in's with the customer's order token), idempotently."""
    store = current_store(request)
    settings = get_settings()

    async def work(session: AsyncSession) -> tuple[int, bytes]:
        order = await gateway.init_order(
            session,
            settings,
            store,
            direction=direction,
            amount=data.amount,
            currency=data.currency,
            payment_method=data.payment_method,
            merchant_order_id=data.merchant_order_id,
            bank=data.bank,
            client_id=data.client_id,
            callback_url=data.callback_url,
            ip=client_ip(request),
            **extra,
        )
        view = await order_views.view_of(session, settings, order, reveal=True)
        token = gateway.order_token(settings, store.store_id, order.id) if direction == "payin" else None
        return 201, _encode(view, token, public_base(request))

    return await _idempotent(request, store.store_id, work)


async def _store_or_order_token(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """The store's API key, or the order token issued by init for exactly this order."""
    if connection.headers.get("x-api-key"):
        await require_store(connection, handler)
        return
    token = connection.headers.get("x-order-token", "").strip()
    if not token:
        raise NotAuthenticated("An X-API-Key or X-Order-Token header is required", reason="credentials_missing")
    # the order the token names; the path's reference must resolve to it (see _incoming_id)
    store_id, incoming_id = gateway.read_order_token(get_settings(), token)
    connection.scope.setdefault("state", {}).update(order_token_store_id=store_id, order_token_order=incoming_id)


async def _incoming_id(session: AsyncSession, request: Request[Any, Any, Any], store_id: int, reference: str) -> int:
    """The store's incoming order behind the path's public reference; an order token must be this order's."""
    token_order = request.scope.get("state", {}).get("order_token_order")
    if token_order is None:
        return await order_refs.merchant_incoming_id(session, store_id, reference)
    try:  # a token names one order: any other reference is refused alike
        incoming_id = await order_refs.merchant_incoming_id(session, store_id, reference)
    except NotFound:
        incoming_id = None
    if incoming_id is None or incoming_id != token_order:
        raise NotAuthenticated("Invalid order token", reason="order_token_invalid")
    return incoming_id


def _store_id(request: Request[Any, Any, Any]) -> tuple[int, StoreIdentity | None]:
    state = request.scope.get("state", {})
    if "order_token_store_id" in state:
        return int(state["order_token_store_id"]), None
    store = current_store(request)
    return store.store_id, store


_ORDER_RESPONSES = {
    201: ResponseSpec(
        GatewayOrder,
        description="The order, queued for assignment, with its order token",
        examples=[Example(summary="A new pay-in", value=JSONValue(INIT_EXAMPLE))],
    ),
}
PAYOUT_CREATED_EXAMPLE = {
    **{k: v for k, v in INIT_EXAMPLE.items() if k not in ("order_token", "payment_page_url")},
    "id": "ord_7p2n5b8v1c4x9z3m6q0w1e",
    "merchant_order_id": "payout-77",
    "direction": "payout",
    "amount": "900.00",
    "recipient_last4": "0004",
}
_PAYOUT_RESPONSES = {
    201: ResponseSpec(
        GatewayOrder,
        description="The pay-out, queued for assignment (the store's USDT for it frozen)",
        examples=[Example(summary="A new pay-out", value=JSONValue(PAYOUT_CREATED_EXAMPLE))],
    ),
}


@gateway_routes.post(
    "/payin/init",
    operation_id="gateway_payin_init",
    summary="Create a pay-in",
    description="A customer will pay `amount` in fiat to a trader's requisite; the store is credited in USDT. "
    "The order is assigned within seconds: poll the status (with `wait`) or take the callback.",
    responses=_ORDER_RESPONSES,
)
async def payin_init(
    request: Request[Any, Any, Any],
    data: PayinInit,
) -> Response[bytes]:
    return await _init(
        request,
        "payin",
        data,
        client_ip=gateway.check_client_ip(data.client_ip),
        client_card_bin=gateway.check_card_bin(data.client_card_bin),
        return_url=data.return_url,
    )


@gateway_routes.post(
    "/payout/init",
    operation_id="gateway_payout_init",
    summary="Create a pay-out",
    description="A trader pays `amount` in fiat to the recipient's requisite; the store's USDT pays for it and is "
    "frozen at once (409 insufficient_balance when there is not enough). The `recipient` must carry what the "
    "payment method needs — "
    + describe_rules()
    + "; `name` (the recipient's full name) always. A missing or bad field is a 422 listing each one in "
    '`details.errors` (`[{"field": "recipient.number", "message": …}]`).',
    responses=_PAYOUT_RESPONSES,
)
async def payout_init(
    request: Request[Any, Any, Any],
    data: PayoutInit,
) -> Response[bytes]:
    recipient = gateway.Recipient(data.recipient.number, data.recipient.name, data.recipient.bank)
    return await _init(request, "payout", data, recipient=recipient)


async def _status(request: Request[Any, Any, Any], order_id: str, direction: str, wait: int) -> GatewayOrder:
    store_id, _ = _store_id(request)
    settings = get_settings()
    token_order = request.scope.get("state", {}).get("order_token_order")
    if not is_order_reference(order_id):
        _refuse(order_id, token_order)

    async def read() -> dict[str, Any]:
        async with read_only() as session:
            try:
                incoming_id, view = await order_views.store_view(session, settings, store_id, order_id, reveal=True)
            except NotFound:
                _refuse(order_id, token_order)
        if token_order is not None and incoming_id != token_order:  # a token names one order: only that one
            raise NotAuthenticated("Invalid order token", reason="order_token_invalid")
        if view["direction"] != direction:
            raise NotFound("Order not found", order_id=order_id)
        return view

    view = await read()
    first = view["status"]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while wait and view["status"] == first and loop.time() < deadline:
        await asyncio.sleep(min(POLL_SECONDS, max(deadline - loop.time(), 0)))
        view = await read()
    return msgspec.convert(view, GatewayOrder)


def _refuse(reference: str, token_order: int | None) -> NoReturn:
    """No such order of the store: a 404 for the API key, the token's refusal for an order token."""
    if token_order is not None:
        raise NotAuthenticated("Invalid order token", reason="order_token_invalid")
    raise NotFound("Order not found", order_id=reference)


@gateway_routes.get(
    "/payin/status/{order_id:str}",
    operation_id="gateway_payin_status",
    summary="A pay-in's status",
    description="With `wait=N` (up to 30) the answer waits until the status changes or N seconds pass. "
    "Authorised by the store's X-API-Key or the order's X-Order-Token.",
    guards=[_store_or_order_token],
)
async def payin_status(
    request: Request[Any, Any, Any],
    order_id: str,
    wait: int = Wait,
) -> GatewayOrder:
    return await _status(request, order_id, "payin", wait)


@gateway_routes.get(
    "/payout/status/{order_id:str}",
    operation_id="gateway_payout_status",
    summary="A pay-out's status",
    description="With `wait=N` (up to 30) the answer waits until the status changes or N seconds pass.",
)
async def payout_status(
    request: Request[Any, Any, Any],
    order_id: str,
    wait: int = Wait,
) -> GatewayOrder:
    return await _status(request, order_id, "payout", wait)


@gateway_routes.post(
    "/payin/confirm/{order_id:str}",
    operation_id="gateway_payin_confirm",
    summary="The customer says they paid",
    description="pending_payment → client_confirmed; the trader then has PAYIN_CONFIRMATION_TIMEOUT_MINUTES to "
    "confirm before the order goes to dispute. Authorised by X-API-Key or the order's X-Order-Token. "
    "409 order_not_assigned while there is no requisite yet. Optionally multipart/form-data with the payment "
    "receipt (PDF, PNG or JPEG) in the field `receipt`; the trader and support see it.",
    guards=[_store_or_order_token],
    status_code=200,
    responses={
        200: ResponseSpec(
            GatewayOrder,
            description="The order after the confirmation",
            examples=[Example(summary="Confirmed by the customer", value=JSONValue(CONFIRMED_EXAMPLE))],
        )
    },
)
async def payin_confirm(request: Request[Any, Any, Any], order_id: str) -> Response[bytes]:
    store_id, store = _store_id(request)
    settings = get_settings()
    async with transaction("gateway.confirm_target") as session:
        incoming_id = await _incoming_id(session, request, store_id, order_id)
    actor = store.actor if store else gateway.customer_actor(incoming_id)
    ip = client_ip(request)
    upload = await _receipt_upload(request)
    stored: list[receipts.StoredFile] = []

    async def store_receipt() -> None:  # the key is ours: a replay or a 409 never stores a file
        if upload is None:
            return
        async with transaction("gateway.receipt_target") as session:
            assigned = await gateway.assigned_order_id(session, store_id, incoming_id)
        stored.append(
            await receipts.store_file(
                get_resources().session_factory,
                storage_for(settings),
                order_id=assigned,
                party=Party.CUSTOMER,
                data=upload.data,
                content_type=upload.content_type,
                store_id=store_id,
            )
        )

    async def work(session: AsyncSession) -> tuple[int, bytes]:
        await gateway.confirm_payin(session, store_id, incoming_id, actor=actor, ip=ip)  # locks the order first
        for file in stored:  # recorded with the confirmation and the key's answer: all or nothing
            await receipts.record_receipt(session, file, actor=actor, ip=ip)
        return 200, _encode(await order_views.order_view(session, settings, store_id, incoming_id, reveal=True))

    return await _idempotent(
        request, store_id, work, prepare=store_receipt, fingerprint=upload.fingerprint if upload else None
    )


@dataclasses.dataclass(frozen=True, slots=True)
class _ReceiptUpload:
    data: bytes
    content_type: str
    fingerprint: bytes  # what the Idempotency-Key's request hash covers instead of the raw multipart body


async def _receipt_upload(request: Request[Any, Any, Any]) -> _ReceiptUpload | None:
    """The customer's optional proof of payment (multipart field ``receipt``: PDF, PNG or JPEG),
    read but not stored yet."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return None
    await request.body()  # kept: the form is parsed from it
    try:
        form = await request.form()
    except Exception:  # noqa: BLE001 - a body that is not valid multipart
        raise ValidationFailed("the body is not valid multipart/form-data", field="receipt") from None
    upload = form_file(dict(form), "receipt")
    parts = []
    for name, value in sorted(form.multi_items(), key=lambda item: item[0]):
        if isinstance(value, UploadFile):
            await value.seek(0)
            parts.append(f"{name}=file:{value.content_type}:{hashlib.sha256(await value.read()).hexdigest()}")
        else:
            parts.append(f"{name}={value}")
    await upload.seek(0)
    return _ReceiptUpload(await upload.read(), upload.content_type, "\n".join(parts).encode())


@gateway_routes.post(
    "/payout/confirm/{order_id:str}",
    operation_id="gateway_payout_confirm",
    summary="Confirm a pay-out the trader marked paid",
    description="The recipient got the money: `trader_paid` → `completed` at once, instead of after "
    "PAYOUT_CONFIRMATION_TIMEOUT_MINUTES; the trader and the platform are settled from the USDT frozen at init "
    "and the `payout.completed` callback follows. A repeat after completion answers 200 with the same order. "
    "409 `conflict` (with `current_status`) from any other status or for a pay-in, 409 `order_not_assigned` "
    "while no trader has it. Dispute instead with `POST /merchant/orders/{id}/dispute`. "
    "Idempotency-Key honoured.",
    status_code=200,
    responses={200: ResponseSpec(GatewayOrder, description="The order after the confirmation")},
)
async def payout_confirm(request: Request[Any, Any, Any], order_id: str) -> Response[bytes]:
    store = current_store(request)
    settings = get_settings()

    async def work(session: AsyncSession) -> tuple[int, bytes]:
        incoming_id = await order_refs.merchant_incoming_id(session, store.store_id, order_id)
        await gateway.confirm_payout(session, store, incoming_id, ip=client_ip(request))
        return 200, _encode(await order_views.order_view(session, settings, store.store_id, incoming_id, reveal=True))

    return await _idempotent(request, store.store_id, work)


@gateway_routes.get("/store", operation_id="gateway_store", summary="The store this API key belongs to")
async def gateway_store(request: Request[Any, Any, Any]) -> GatewayStoreBody:
    identity: StoreIdentity = current_store(request)
    async with read_only() as session:
        name = await store_name(session, identity.store_id)
    return GatewayStoreBody(identity.store_id, name)


HANDLERS = [gateway_store, payin_init, payin_status, payin_confirm, payout_init, payout_status, payout_confirm]
document(HANDLERS, {"gateway_store": "The store the X-API-Key belongs to: a cheap way to check a key."})
