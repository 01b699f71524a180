"""Guards: who may call a route. They authenticate once and leave the caller in the scope."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from jivapay.adapters.db.uow import reading
from jivapay.adapters.memo import Memo
from jivapay.adapters.resources import get_resources
from jivapay.adapters.security import api_key_fingerprint
from jivapay.domain.errors import NotAuthenticated, PermissionDenied
from jivapay.domain.identity.roles import AdminPermission, Role
from jivapay.http.deps import transaction
from jivapay.http.ratelimit import ACCESS_CLAIMS, limit_store
from jivapay.services.identity.auth import Principal, authenticate_bearer
from jivapay.services.merchants.stores import StoreIdentity, authenticate_api_key
from jivapay.settings import get_settings

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


def _bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("A bearer access token is required", reason="token_missing")
    return token.strip()


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    state = connection.scope.setdefault("state", {})
    principal = state.get("principal")
    if isinstance(principal, Principal):
        return principal
    token = _bearer(connection)
    decoded = state.get(ACCESS_CLAIMS)  # the rate limiter decoded this token already
    claims = decoded[1] if decoded is not None and decoded[0] == token else None
    async with reading(get_resources().session_factory) as session:
        principal = await authenticate_bearer(session, get_settings(), token, claims=claims)
    state["principal"] = principal
    return principal


async def require_user(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    await authenticate(connection)


def require_role(role: Role) -> Guard:
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = await authenticate(connection)
        if principal.role != role:
            raise PermissionDenied(f"This endpoint is for the {role.value} role", required_role=role.value)

    guard.__name__ = f"require_role_{role.value}"
    return guard


def require_permission(permission: AdminPermission) -> Guard:
    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = await authenticate(connection)
        if principal.role != Role.ADMIN or permission not in principal.permissions:
            raise PermissionDenied(
                f"The {permission.value} permission is required", required_permission=permission.value
            )

    guard.__name__ = f"require_permission_{permission.value}"
    return guard


# the admin routes' guards, one per permission flag
USERS = [require_permission(AdminPermission.MANAGE_USERS)]
FINANCES = [require_permission(AdminPermission.MANAGE_FINANCES)]
SETTINGS = [require_permission(AdminPermission.MANAGE_SETTINGS)]
REQUISITES = [require_permission(AdminPermission.MANAGE_REQUISITES)]


# A key that just authenticated is trusted again for this long without a database round trip:
# a revocation or a deactivated store takes effect within this time in every API process.
API_KEY_CACHE_SECONDS = 2.0
_api_key_cache: Memo[str, StoreIdentity] = Memo("http.api_keys", maxsize=10_000, ttl=API_KEY_CACHE_SECONDS)


async def require_store(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    key = connection.headers.get("x-api-key", "").strip()
    if not key:
        raise NotAuthenticated("An X-API-Key header is required", reason="api_key_missing")
    settings = get_settings()
    fingerprint = api_key_fingerprint(settings, key)
    cached = _api_key_cache.get(fingerprint)
    if cached is not None:
        store = cached
    else:
        try:
            async with transaction("api_key.auth") as session:
                store = await authenticate_api_key(session, settings, key)
        except NotAuthenticated:
            await limit_store(connection.scope, None)  # type: ignore[arg-type]
            raise
        ttl = API_KEY_CACHE_SECONDS
        if store.expires_at is not None:  # never trusted past its own expiry
            ttl = min(ttl, (store.expires_at - dt.datetime.now(dt.UTC)).total_seconds())
        _api_key_cache.set(fingerprint, store, ttl=ttl)
    connection.scope.setdefault("state", {})["store"] = store
    # the store's rate-limit bucket is charged only now that the key is verified
    await limit_store(connection.scope, store.store_id)  # type: ignore[arg-type]


def forget_api_keys() -> None:
    """Drop cached authentications (a key was revoked or rotated in this process; tests)."""
    _api_key_cache.clear()
