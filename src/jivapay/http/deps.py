"""What handlers need from the request: a transaction, the caller, the client."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar.connection import ASGIConnection
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.uow import atomic, reading
from jivapay.adapters.resources import get_resources
from jivapay.domain.errors import NotAuthenticated, ValidationFailed
from jivapay.services.identity.auth import ClientInfo, Principal
from jivapay.services.merchants.stores import StoreIdentity


@contextlib.asynccontextmanager
async def transaction(name: str = "request") -> AsyncIterator[AsyncSession]:
    """The request's one transaction; the handler's ``async with`` block commits it."""
    async with atomic(get_resources().session_factory, name=name) as session:
        yield session


@contextlib.asynccontextmanager
async def read_only() -> AsyncIterator[AsyncSession]:
    """A read without a transaction (``adapters.db.uow.reading``): for one-statement reads."""
    async with reading(get_resources().session_factory) as session:
        yield session


def client_ip(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    host = connection.client.host if connection.client else None
    if not host:
        return None
    import ipaddress

    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None  # e.g. the test client's "testclient"


def client_info(connection: ASGIConnection[Any, Any, Any, Any], device_cookie: str | None = None) -> ClientInfo:
    return ClientInfo(
        ip=client_ip(connection),
        user_agent=connection.headers.get("user-agent"),
        device_token=connection.cookies.get(device_cookie) if device_cookie else None,
    )


def current_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    principal = connection.scope.get("state", {}).get("principal")
    if not isinstance(principal, Principal):
        raise NotAuthenticated()
    return principal


def current_store(connection: ASGIConnection[Any, Any, Any, Any]) -> StoreIdentity:
    store = connection.scope.get("state", {}).get("store")
    if not isinstance(store, StoreIdentity):
        raise NotAuthenticated("An X-API-Key header is required", reason="api_key_missing")
    return store


# a handler's multipart body, taken as a dict (see form_file)
MultipartForm = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]


def form_file(form: dict[str, Any], field: str) -> UploadFile:
    """The file in a multipart form's ``field`` (a clear 422 when it is missing or not a file).

    Handlers take the form as a dict (``MultipartForm``): Litestar's own UploadFile extraction
    crashes (500) on a multipart body without any file.
    """
    value = form.get(field)
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, UploadFile)), None)
    if not isinstance(value, UploadFile):
        raise ValidationFailed(f"send the file in the multipart field '{field}'", field=field)
    return value
