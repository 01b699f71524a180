"""Guards: who may call a route. They authenticate once and leave the caller in the scope."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from jivapay.adapters.resources import get_resources
from jivapay.domain.errors import NotAuthenticated, PermissionDenied
from jivapay.domain.identity import AdminPermission, Role
from jivapay.http.deps import transaction
from jivapay.services.auth import Principal, authenticate_bearer
from jivapay.services.stores import authenticate_api_key
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
    async with get_resources().session_factory() as session:
        principal = await authenticate_bearer(session, get_settings(), token)
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


async def require_store(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    key = connection.headers.get("x-api-key", "").strip()
    if not key:
        raise NotAuthenticated("An X-API-Key header is required", reason="api_key_missing")
    async with transaction("api_key.auth") as session:
        store = await authenticate_api_key(session, get_settings(), key)
    connection.scope.setdefault("state", {})["store"] = store
