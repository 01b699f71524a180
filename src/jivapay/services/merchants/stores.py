"""Merchant stores and their credentials: gateway API keys and callback signing secrets."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.merchants.stores import StoreRepository
from jivapay.adapters.db.models import Store, StoreApiKey, StoreSigningSecret
from jivapay.adapters.security import (
    api_key_matches,
    api_key_prefix,
    decrypt_secret,
    encrypt_secret,
    new_api_key,
    new_signing_secret,
)
from jivapay.domain.errors import Conflict, NotAuthenticated, NotFound, ValidationFailed
from jivapay.domain.merchants import payment_page as page
from jivapay.domain.platform.audit import Actor, Target
from jivapay.services.merchants.callback_targets import check_callback_url
from jivapay.services.platform.audit import log_action
from jivapay.settings import Settings

MAX_OVERLAP = dt.timedelta(days=7)
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)  # write last_used_at at most once a minute per key


@dataclasses.dataclass(frozen=True, slots=True)
class IssuedKey:
    key: StoreApiKey
    plaintext: str  # shown once


@dataclasses.dataclass(frozen=True, slots=True)
class StoreIdentity:
    store_id: int
    merchant_id: int
    key_id: int
    expires_at: dt.datetime | None = None  # a rotated key's end of overlap

    @property
    def actor(self) -> Actor:
        return Actor("store", str(self.store_id))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _overlap(hours: int) -> dt.timedelta:
    if not 0 <= hours <= MAX_OVERLAP.total_seconds() // 3600:  # before timedelta, which overflows
        raise ValidationFailed("overlap_hours must be between 0 and 168", field="overlap_hours")
    return dt.timedelta(hours=hours)


async def owned_store(session: AsyncSession, merchant_id: int, store_id: int) -> Store:
    store = await StoreRepository(session).get_owned(store_id, merchant_id)
    if store is None:
        raise NotFound("Store not found", store_id=store_id)
    return store


async def create_store(
    session: AsyncSession, settings: Settings, actor: Actor, *, merchant_id: int, name: str, ip: str | None = None
) -> tuple[Store, str]:
    """A store with its first signing secret (returned once)."""
    name = name.strip()
    if not 1 <= len(name) <= 128:
        raise ValidationFailed("name must be 1-128 characters", field="name")
    repo = StoreRepository(session)
    store = await repo.add(Store(merchant_id=merchant_id, name=name))
    secret = new_signing_secret()
    await repo.add_secret(StoreSigningSecret(store_id=store.id, secret_encrypted=encrypt_secret(settings, secret)))
    await log_action(session, actor, "store.create", Target.of("store", store.id), {"name": name}, ip=ip)
    return store, secret


async def list_stores(session: AsyncSession, merchant_id: int) -> Sequence[Store]:
    return await StoreRepository(session).list_owned(merchant_id)


async def list_api_keys(session: AsyncSession, merchant_id: int, store_id: int) -> Sequence[StoreApiKey]:
    await owned_store(session, merchant_id, store_id)
    return await StoreRepository(session).list_keys(store_id)


async def issue_api_key(
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    *,
    merchant_id: int,
    store_id: int,
    name: str = "",
    ip: str | None = None,
) -> IssuedKey:
    await owned_store(session, merchant_id, store_id)
    if len(name) > 64:
        raise ValidationFailed("name must be at most 64 characters", field="name")
    generated = new_api_key(settings)
    key = await StoreRepository(session).add_key(
        StoreApiKey(store_id=store_id, prefix=generated.prefix, key_hash=generated.key_hash, name=name)
    )
    await log_action(
        session, actor, "api_key.issue", Target.of("store", store_id), {"key_id": key.id, "prefix": key.prefix}, ip=ip
    )
    return IssuedKey(key, generated.key)


async def rotate_api_key(
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    *,
    merchant_id: int,
    store_id: int,
    key_id: int,
    overlap_hours: int = 24,
    ip: str | None = None,
) -> IssuedKey:
    """A new key now; the old one keeps working for ``overlap_hours`` so deploys can switch."""
    overlap = _overlap(overlap_hours)
    repo = StoreRepository(session)
    await owned_store(session, merchant_id, store_id)
    old = await repo.get_key(store_id, key_id)
    if old is None:
        raise NotFound("API key not found", key_id=key_id)
    if old.revoked_at is not None or (old.expires_at is not None and old.expires_at <= _now()):
        raise Conflict("The API key is no longer active", key_id=key_id)
    ends = _now() + overlap
    old.expires_at = ends if old.expires_at is None else min(old.expires_at, ends)
    issued = await issue_api_key(
        session, settings, actor, merchant_id=merchant_id, store_id=store_id, name=old.name, ip=ip
    )
    await log_action(
        session,
        actor,
        "api_key.rotate",
        Target.of("store", store_id),
        {"old_key_id": old.id, "new_key_id": issued.key.id, "old_expires_at": old.expires_at.isoformat()},
        ip=ip,
    )
    return issued


async def revoke_api_key(
    session: AsyncSession, actor: Actor, *, merchant_id: int, store_id: int, key_id: int, ip: str | None = None
) -> StoreApiKey:
    await owned_store(session, merchant_id, store_id)
    key = await StoreRepository(session).get_key(store_id, key_id)
    if key is None:
        raise NotFound("API key not found", key_id=key_id)
    if key.revoked_at is None:
        key.revoked_at = _now()
        await log_action(session, actor, "api_key.revoke", Target.of("store", store_id), {"key_id": key.id}, ip=ip)
    return key


async def rotate_signing_secret(
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    *,
    merchant_id: int,
    store_id: int,
    overlap_hours: int = 24,
    ip: str | None = None,
) -> str:
    """A new callback signing secret; callbacks carry a signature with each until the overlap ends."""
    overlap = _overlap(overlap_hours)
    await owned_store(session, merchant_id, store_id)
    repo = StoreRepository(session)
    await repo.expire_secrets(store_id, _now() + overlap)
    secret = new_signing_secret()
    await repo.add_secret(StoreSigningSecret(store_id=store_id, secret_encrypted=encrypt_secret(settings, secret)))
    await log_action(
        session, actor, "signing_secret.rotate", Target.of("store", store_id), {"overlap_hours": overlap_hours}, ip=ip
    )
    return secret


async def signing_secrets(session: AsyncSession, settings: Settings, store_id: int) -> list[str]:
    """Secrets to sign a callback with, newest first (two during a rotation)."""
    return [
        decrypt_secret(settings, s.secret_encrypted) for s in await StoreRepository(session).active_secrets(store_id)
    ]


async def authenticate_api_key(session: AsyncSession, settings: Settings, key: str) -> StoreIdentity:
    prefix = api_key_prefix(key.strip())
    found = await StoreRepository(session).find_usable_key(prefix) if prefix else None
    if found is None or not api_key_matches(settings, key.strip(), found[0].key_hash):
        raise NotAuthenticated("The API key is not valid", reason="api_key_invalid")
    api_key, store = found
    now = _now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        await StoreRepository(session).touch_key(api_key.id, now)
    return StoreIdentity(
        store_id=store.id, merchant_id=store.merchant_id, key_id=api_key.id, expires_at=api_key.expires_at
    )


async def get_store(session: AsyncSession, store_id: int) -> Store:
    store = await StoreRepository(session).get(store_id)
    if store is None:
        raise NotFound("Store not found", store_id=store_id)
    return store


async def store_name(session: AsyncSession, store_id: int) -> str:
    name = await StoreRepository(session).name_of(store_id)
    if name is None:
        raise NotFound("Store not found", store_id=store_id)
    return name


async def merchant_of_store(session: AsyncSession, store_id: int) -> int | None:
    """Who owns the store (None when there is no such store); from the session when it is loaded there."""
    store = await StoreRepository(session).get(store_id)
    return store.merchant_id if store is not None else None


STORE_SETTINGS = (
    "callback_url",
    "payment_methods",
    "default_currency",
    "page_language",
    "brand_color",
    "customer_can_cancel",
)


async def update_store_settings(
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    *,
    merchant_id: int,
    store_id: int,
    changes: dict[str, Any],
    ip: str | None = None,
) -> Store:
    """Callback URL (checked like an order's), accepted payment method codes, default currency."""
    store = await owned_store(session, merchant_id, store_id)
    if not changes:
        raise ValidationFailed(f"nothing to change: send any of {', '.join(STORE_SETTINGS)}")
    current = dict(store.settings or {})
    for key, raw in changes.items():
        current.pop(key, None)
        value = await _store_setting(settings, key, raw)
        if value is not None:
            current[key] = value
    store.settings = current
    await log_action(
        session, actor, "store.settings", Target.of("store", store_id), {"changed": sorted(changes)}, ip=ip
    )
    return store


async def _store_setting(settings: Settings, key: str, value: Any) -> Any:
    if key not in STORE_SETTINGS:
        raise ValidationFailed(f"unknown store setting {key}", field=key)
    if value is None:
        return None
    if key == "callback_url":
        if not isinstance(value, str):
            raise ValidationFailed("callback_url is a URL", field=key)
        return await check_callback_url(settings, value)
    if key == "payment_methods":
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise ValidationFailed("payment_methods is a list of payment method codes", field=key)
        return sorted({v.strip().lower() for v in value})
    if key == "page_language":
        if value not in page.LANGUAGES:
            raise ValidationFailed(f"page_language is one of {', '.join(page.LANGUAGES)}", field=key)
        return value
    if key == "brand_color":
        if not isinstance(value, str) or not page.is_colour(value):
            raise ValidationFailed("brand_color is a colour like #1f6feb", field=key)
        return value.lower()
    if key == "customer_can_cancel":
        if not isinstance(value, bool):
            raise ValidationFailed("customer_can_cancel is true or false", field=key)
        return value
    if not isinstance(value, str) or len(value.strip()) != 3:
        raise ValidationFailed("default_currency is a 3-letter currency code", field=key)
    return value.strip().upper()


async def update_store(
    session: AsyncSession,
    actor: Actor,
    *,
    merchant_id: int,
    store_id: int,
    name: str | None = None,
    is_active: bool | None = None,
    ip: str | None = None,
) -> Store:
    """Rename, pause (is_active=false: the gateway refuses its keys) or resume a store."""
    store = await owned_store(session, merchant_id, store_id)
    changed: dict[str, Any] = {}
    if name is not None:
        name = name.strip()
        if not 1 <= len(name) <= 128:
            raise ValidationFailed("a store name has 1-128 characters", field="name")
        store.name = changed["name"] = name
    if is_active is not None:
        store.is_active = changed["is_active"] = is_active
    if not changed:
        raise ValidationFailed("nothing to change: send name or is_active")
    await log_action(session, actor, "store.update", Target.of("store", store_id), changed, ip=ip)
    return store
