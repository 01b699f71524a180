"""A merchant's stores, API keys and signing secrets (`/merchant/stores/*`)."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import msgspec
from litestar import Request
from litestar.status_codes import HTTP_201_CREATED

from jivapay.adapters.db.models import Store, StoreApiKey
from jivapay.http.deps import client_ip, current_principal, transaction
from jivapay.http.guards import forget_api_keys
from jivapay.http.routes import RouteGroup
from jivapay.services.merchants import stores as store_service
from jivapay.settings import get_settings

merchant_routes = RouteGroup("merchant")


class StoreBody(msgspec.Struct):
    id: int
    name: str
    is_active: bool
    created_at: dt.datetime


class NewStore(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"name": "Coffee Beans Shop"}

    name: str


class CreatedStoreBody(msgspec.Struct):
    store: StoreBody
    signing_secret: str  # shown once


class ApiKeyBody(msgspec.Struct):
    id: int
    prefix: str
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None


class IssuedKeyBody(msgspec.Struct):
    api_key: str  # shown once; only a keyed hash is stored
    key: ApiKeyBody


class NewKey(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"name": "production server"}

    name: str = ""


class Rotation(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"overlap_hours": 24}

    overlap_hours: int = 24


class SigningSecretBody(msgspec.Struct):
    signing_secret: str


def store_body(store: Store) -> StoreBody:
    return StoreBody(store.id, store.name, store.is_active, store.created_at)


def key_body(key: StoreApiKey) -> ApiKeyBody:
    return ApiKeyBody(key.id, key.prefix, key.name, key.created_at, key.last_used_at, key.expires_at, key.revoked_at)


@merchant_routes.get("/stores", operation_id="merchant_list_stores")
async def list_stores(request: Request[Any, Any, Any]) -> list[StoreBody]:
    async with transaction() as session:
        stores = await store_service.list_stores(session, current_principal(request).user_id)
    return [store_body(s) for s in stores]


@merchant_routes.post("/stores", operation_id="merchant_create_store", status_code=HTTP_201_CREATED)
async def create_store(request: Request[Any, Any, Any], data: NewStore) -> CreatedStoreBody:
    principal = current_principal(request)
    async with transaction() as session:
        store, secret = await store_service.create_store(
            session,
            get_settings(),
            principal.actor,
            merchant_id=principal.user_id,
            name=data.name,
            ip=client_ip(request),
        )
    return CreatedStoreBody(store_body(store), secret)


@merchant_routes.get("/stores/{store_id:int}/api-keys", operation_id="merchant_list_api_keys")
async def list_api_keys(request: Request[Any, Any, Any], store_id: int) -> list[ApiKeyBody]:
    async with transaction() as session:
        keys = await store_service.list_api_keys(session, current_principal(request).user_id, store_id)
    return [key_body(k) for k in keys]


@merchant_routes.post(
    "/stores/{store_id:int}/api-keys", operation_id="merchant_issue_api_key", status_code=HTTP_201_CREATED
)
async def issue_api_key(request: Request[Any, Any, Any], store_id: int, data: NewKey) -> IssuedKeyBody:
    principal = current_principal(request)
    async with transaction() as session:
        issued = await store_service.issue_api_key(
            session,
            get_settings(),
            principal.actor,
            merchant_id=principal.user_id,
            store_id=store_id,
            name=data.name,
            ip=client_ip(request),
        )
    return IssuedKeyBody(issued.plaintext, key_body(issued.key))


@merchant_routes.post(
    "/stores/{store_id:int}/api-keys/{key_id:int}/rotate",
    operation_id="merchant_rotate_api_key",
    status_code=HTTP_201_CREATED,
)
async def rotate_api_key(request: Request[Any, Any, Any], store_id: int, key_id: int, data: Rotation) -> IssuedKeyBody:
    principal = current_principal(request)
    async with transaction() as session:
        issued = await store_service.rotate_api_key(
            session,
            get_settings(),
            principal.actor,
            merchant_id=principal.user_id,
            store_id=store_id,
            key_id=key_id,
            overlap_hours=data.overlap_hours,
            ip=client_ip(request),
        )
    forget_api_keys()
    return IssuedKeyBody(issued.plaintext, key_body(issued.key))


@merchant_routes.delete(
    "/stores/{store_id:int}/api-keys/{key_id:int}", operation_id="merchant_revoke_api_key", status_code=200
)
async def revoke_api_key(request: Request[Any, Any, Any], store_id: int, key_id: int) -> ApiKeyBody:
    principal = current_principal(request)
    async with transaction() as session:
        key = await store_service.revoke_api_key(
            session,
            principal.actor,
            merchant_id=principal.user_id,
            store_id=store_id,
            key_id=key_id,
            ip=client_ip(request),
        )
    forget_api_keys()  # this process stops accepting it at once; others within API_KEY_CACHE_SECONDS
    return key_body(key)


@merchant_routes.post(
    "/stores/{store_id:int}/signing-secret/rotate",
    operation_id="merchant_rotate_signing_secret",
    status_code=HTTP_201_CREATED,
)
async def rotate_signing_secret(request: Request[Any, Any, Any], store_id: int, data: Rotation) -> SigningSecretBody:
    principal = current_principal(request)
    async with transaction() as session:
        secret = await store_service.rotate_signing_secret(
            session,
            get_settings(),
            principal.actor,
            merchant_id=principal.user_id,
            store_id=store_id,
            overlap_hours=data.overlap_hours,
            ip=client_ip(request),
        )
    return SigningSecretBody(secret)


DESCRIPTIONS = {
    "merchant_list_stores": "The merchant's stores.",
    "merchant_create_store": "A new store; the answer holds its callback signing secret, shown once.",
    "merchant_list_api_keys": "The store's API keys (prefixes and dates; the keys themselves are never shown again).",
    "merchant_issue_api_key": "A new API key for the gateway's X-API-Key, shown once.",
    "merchant_rotate_api_key": "A new key; the old one keeps working for overlap_hours (0-168), then stops.",
    "merchant_revoke_api_key": "The key stops working at once (within 2 s in every API process).",
    "merchant_rotate_signing_secret": "A new callback signing secret; callbacks carry both signatures during the "
    "overlap.",
    "merchant_get_store_settings": "callback_url, payment_methods and default_currency of the store.",
    "merchant_list_callbacks": "The store's callback events, newest first, with their delivery state.",
    "merchant_get_callback": "One callback event with every delivery attempt (status, latency, answer).",
    "merchant_redeliver_callback": "Send the event again now, with the same event_id.",
    "merchant_get_order": "One order with its status history and its callbacks.",
    "merchant_balance": "USDT available and frozen per store.",
    "merchant_balance_history": "Ledger entries of one of the store's accounts, newest first.",
    "merchant_balance_history_csv": "The same entries as CSV.",
    "merchant_me": "The signed-in merchant's profile.",
}

store_handlers = [
    list_stores,
    create_store,
    list_api_keys,
    issue_api_key,
    rotate_api_key,
    revoke_api_key,
    rotate_signing_secret,
]
