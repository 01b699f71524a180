"""Builders for users, stores and keys, going through the real services."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.uow import atomic
from jivapay.domain.identity.roles import ALL_ADMIN_PERMISSIONS, AdminPermission, Role
from jivapay.domain.platform.audit import Actor
from jivapay.services.identity import users as user_service
from jivapay.services.merchants import stores as store_service
from jivapay.settings import get_settings

PASSWORD = "correct-horse-42"
_seq = itertools.count(1)
SYSTEM = Actor.system("tests")

LOGIN_PATHS = {
    Role.MERCHANT: "/merchant/auth/token",
    Role.TRADER: "/trader/auth/token",
    Role.TEAMLEAD: "/teamlead/auth/token",
    Role.ADMIN: "/admin/auth/token",
    Role.SUPPORT: "/support/auth/login",
}


@dataclasses.dataclass(frozen=True)
class MadeUser:
    id: int
    login: str
    role: Role


async def make_user(
    session_factory: async_sessionmaker[AsyncSession],
    role: Role,
    *,
    login: str | None = None,
    password: str = PASSWORD,
    email: str | None = None,
    permissions: frozenset[AdminPermission] | set[AdminPermission] = ALL_ADMIN_PERMISSIONS,
    profile: dict[str, Any] | None = None,
    full_name: str | None = None,
) -> MadeUser:
    login = login or f"{role.value}{next(_seq)}"
    async with atomic(session_factory) as session:
        view = await user_service.create_user(
            session,
            get_settings(),
            SYSTEM,
            login=login,
            password=password,
            role=role,
            email=email,
            full_name=full_name,
            profile=profile or {},
            permissions=sorted(permissions) if role == Role.ADMIN else (),
        )
    return MadeUser(view.user.id, login, role)


async def make_store(session_factory: async_sessionmaker[AsyncSession], merchant_id: int, name: str = "Shop") -> int:
    async with atomic(session_factory) as session:
        store, _ = await store_service.create_store(session, get_settings(), SYSTEM, merchant_id=merchant_id, name=name)
    return store.id


async def make_api_key(
    session_factory: async_sessionmaker[AsyncSession], merchant_id: int, store_id: int
) -> tuple[int, str]:
    async with atomic(session_factory) as session:
        issued = await store_service.issue_api_key(
            session, get_settings(), SYSTEM, merchant_id=merchant_id, store_id=store_id
        )
    return issued.key.id, issued.plaintext


async def login(client: Any, role: Role, login_name: str, password: str = PASSWORD, **kwargs: Any) -> Any:
    path = LOGIN_PATHS[role]
    if role == Role.SUPPORT:
        return await client.post(path, json={"login": login_name, "password": password}, **kwargs)
    return await client.post(path, data={"username": login_name, "password": password}, **kwargs)


async def token_for(client: Any, role: Role, login_name: str, password: str = PASSWORD) -> str:
    response = await login(client, role, login_name, password)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- order references: paths and bodies show ord_…; tests reach rows by their internal ids ---
async def order_reference(session_factory: async_sessionmaker[AsyncSession], order_id: int) -> str:
    """The public reference of an assigned order (order_history.id)."""
    from jivapay.adapters.db.models import OrderHistory

    async with session_factory() as session:
        order = await session.get(OrderHistory, order_id)
    assert order is not None
    return order.public_id


async def incoming_reference(session_factory: async_sessionmaker[AsyncSession], incoming_id: int) -> str:
    """The public reference of an incoming order (the same as its assigned order's)."""
    from jivapay.adapters.db.models import IncomingOrder

    async with session_factory() as session:
        incoming = await session.get(IncomingOrder, incoming_id)
    assert incoming is not None
    return incoming.public_id


async def incoming_of(session_factory: async_sessionmaker[AsyncSession], reference: str) -> Any:
    """The incoming order (row) behind a public reference."""
    from sqlalchemy import select

    from jivapay.adapters.db.models import IncomingOrder

    async with session_factory() as session:
        incoming = (await session.scalars(select(IncomingOrder).where(IncomingOrder.public_id == reference))).one()
    return incoming


@dataclasses.dataclass(frozen=True)
class LoggedIn:
    """A signed-in user and the API client that sends their bearer token: ``await admin_api.get("/admin/me")``."""

    user: MadeUser
    token: str
    client: Any

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)

    async def request(self, method: str, url: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return await self.client.request(method, url, headers=headers, **kwargs)

    async def get(self, url: str, **kwargs: Any) -> Any:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> Any:
        return await self.request("POST", url, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> Any:
        return await self.request("PUT", url, **kwargs)

    async def patch(self, url: str, **kwargs: Any) -> Any:
        return await self.request("PATCH", url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> Any:
        return await self.request("DELETE", url, **kwargs)


async def sign_in(client: Any, session_factory: async_sessionmaker[AsyncSession], role: Role, **user: Any) -> LoggedIn:
    """A new user of ``role`` (``make_user``'s keywords), signed in through the real login route."""
    made = await make_user(session_factory, role, **user)
    return LoggedIn(made, await token_for(client, role, made.login, user.get("password", PASSWORD)), client)
