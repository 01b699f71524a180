"""People, as the admin cabinet manages them (`/admin/users/*`, `/admin/ip-blocks`): users, profiles,
permissions, privacy requests, IP blocks."""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import msgspec
from litestar import Request
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from jivapay.adapters.db.models import LoginAttempt, User
from jivapay.adapters.resources import get_resources
from jivapay.domain.errors import NotFound
from jivapay.domain.identity.roles import AdminPermission, Role
from jivapay.domain.pii import mask_name
from jivapay.domain.platform.audit import Target
from jivapay.http.deps import client_ip, current_principal, transaction
from jivapay.http.guards import USERS, require_permission
from jivapay.http.routes import RouteGroup
from jivapay.services.identity import ip_blocks
from jivapay.services.identity import users as user_service
from jivapay.services.identity.auth import login_history
from jivapay.services.platform.audit import log_action
from jivapay.settings import get_settings

admin_routes = RouteGroup("admin", guards=USERS)


class UserBody(msgspec.Struct):
    id: int
    login: str
    role: str
    email: str | None
    full_name: str | None
    is_active: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None
    anonymized_at: dt.datetime | None
    profile: dict[str, Any] = {}


class UserPage(msgspec.Struct):
    data: list[UserBody]
    has_more: bool


class NewUser(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {
        "login": "trader.ivan",
        "password": "brew-2026-beans",
        "role": "trader",
        "email": "ivan@example.com",
        "full_name": "Ivan Petrov",
        "profile": {"traffic_priority": 10, "payout_enabled": True},
    }

    login: str
    password: str
    role: Role
    email: str | None = None
    full_name: str | None = None
    profile: dict[str, Any] = {}
    permissions: list[AdminPermission] = []


class UserPatch(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {
        "email": "ivan.petrov@example.com",
        "full_name": "Ivan Petrov",
        "is_active": True,
    }

    email: str | msgspec.UnsetType | None = msgspec.UNSET
    full_name: str | msgspec.UnsetType | None = msgspec.UNSET
    is_active: bool | msgspec.UnsetType = msgspec.UNSET
    profile: dict[str, Any] = {}


class PasswordReset(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"password": "roast-2027-dark"}

    password: str


class Permissions(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {"permissions": ["manage_finances", "manage_requisites"]}

    permissions: list[AdminPermission]


class LoginAttemptBody(msgspec.Struct):
    id: int
    at: dt.datetime
    success: bool
    reason: str | None
    endpoint_role: str
    ip: str | None
    user_agent: str | None
    country_code: str | None
    city: str | None
    new_device: bool


def user_body(user: User, profile: dict[str, Any] | None = None, *, masked: bool = False) -> UserBody:
    return UserBody(
        id=user.id,
        login=user.login,
        role=user.role,
        email=user.email,
        full_name=mask_name(user.full_name) if masked and user.full_name else user.full_name,
        is_active=user.is_active,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
        anonymized_at=user.anonymized_at,
        profile=profile or {},
    )


def attempt_body(a: LoginAttempt) -> LoginAttemptBody:
    return LoginAttemptBody(
        a.id,
        a.created_at,
        a.success,
        a.reason,
        a.endpoint_role,
        str(a.ip) if a.ip else None,
        a.user_agent,
        a.country_code,
        a.city,
        a.new_device,
    )


@admin_routes.get("/users", operation_id="admin_list_users")
async def list_users(
    role: Role | None = None,
    is_active: bool | None = None,
    starting_after: int | None = None,
    limit: int = Parameter(default=50, ge=1, le=200),
) -> UserPage:
    async with transaction() as session:
        users = await user_service.list_users(
            session, role=role, is_active=is_active, starting_after=starting_after, limit=limit + 1
        )
    return UserPage([user_body(u, masked=True) for u in users[:limit]], has_more=len(users) > limit)


def _caller(request: Request[Any, Any, Any]) -> user_service.AdminCaller:
    principal = current_principal(request)
    return user_service.AdminCaller(principal.user_id, principal.permissions)


@admin_routes.post("/users", operation_id="admin_create_user", status_code=HTTP_201_CREATED)
async def create_user(request: Request[Any, Any, Any], data: NewUser) -> UserBody:
    actor = current_principal(request)
    user_service.check_grantable(_caller(request), data.permissions)
    user_service.check_money_fields(_caller(request), data.profile)
    async with transaction() as session:
        view = await user_service.create_user(
            session,
            get_settings(),
            actor.actor,
            login=data.login,
            password=data.password,
            role=data.role,
            email=data.email,
            full_name=data.full_name,
            profile=data.profile,
            permissions=data.permissions,
            ip=client_ip(request),
        )
    return user_body(view.user, view.profile)


@admin_routes.get("/users/{user_id:int}", operation_id="admin_get_user")
async def get_user(user_id: int) -> UserBody:
    async with transaction() as session:
        view = await user_service.get_user(session, user_id)
    return user_body(view.user, view.profile)


@admin_routes.patch("/users/{user_id:int}", operation_id="admin_update_user")
async def update_user(request: Request[Any, Any, Any], user_id: int, data: UserPatch) -> UserBody:
    changes = {
        name: getattr(data, name)
        for name in ("email", "full_name", "is_active")
        if getattr(data, name) is not msgspec.UNSET
    }
    async with transaction() as session:
        await user_service.authorize(
            session, _caller(request), user_id, user_service.AdminAction.UPDATE, profile=data.profile, changes=changes
        )
        view = await user_service.update_user(
            session,
            current_principal(request).actor,
            user_id,
            changes=changes,
            profile=data.profile,
            ip=client_ip(request),
        )
    return user_body(view.user, view.profile)


@admin_routes.post("/users/{user_id:int}/deactivate", operation_id="admin_deactivate_user", status_code=200)
async def deactivate_user(request: Request[Any, Any, Any], user_id: int) -> UserBody:
    async with transaction() as session:
        await user_service.authorize(session, _caller(request), user_id, user_service.AdminAction.DEACTIVATE)
        view = await user_service.deactivate_user(
            session, current_principal(request).actor, user_id, ip=client_ip(request)
        )
    return user_body(view.user, view.profile)


@admin_routes.post(
    "/users/{user_id:int}/password", operation_id="admin_reset_password", status_code=HTTP_204_NO_CONTENT
)
async def reset_password(request: Request[Any, Any, Any], user_id: int, data: PasswordReset) -> None:
    async with transaction() as session:
        await user_service.authorize(session, _caller(request), user_id, user_service.AdminAction.RESET_PASSWORD)
        await user_service.reset_password(
            session,
            get_settings(),
            current_principal(request).actor,
            user_id,
            password=data.password,
            ip=client_ip(request),
        )


@admin_routes.put(
    "/users/{user_id:int}/permissions",
    operation_id="admin_set_permissions",
    guards=[require_permission(AdminPermission.MANAGE_PERMISSIONS)],
)
async def set_permissions(request: Request[Any, Any, Any], user_id: int, data: Permissions) -> UserBody:
    async with transaction() as session:
        await user_service.authorize(
            session, _caller(request), user_id, user_service.AdminAction.PERMISSIONS, new_permissions=data.permissions
        )
        view = await user_service.set_permissions(
            session, current_principal(request).actor, user_id, permissions=data.permissions, ip=client_ip(request)
        )
    return user_body(view.user, view.profile)


@admin_routes.get("/users/{user_id:int}/logins", operation_id="admin_user_logins")
async def user_logins(
    user_id: int, starting_after: int | None = None, limit: int = Parameter(default=50, ge=1, le=200)
) -> list[LoginAttemptBody]:
    async with transaction() as session:
        attempts = await login_history(session, user_id, starting_after=starting_after, limit=limit)
    return [attempt_body(a) for a in attempts]


@admin_routes.get("/users/{user_id:int}/export", operation_id="admin_export_user")
async def export_user(request: Request[Any, Any, Any], user_id: int) -> dict[str, Any]:
    async with transaction() as session:
        await user_service.authorize(session, _caller(request), user_id, user_service.AdminAction.EXPORT)
        return await user_service.export_user_data(
            session, current_principal(request).actor, user_id, ip=client_ip(request)
        )


@admin_routes.post("/users/{user_id:int}/anonymize", operation_id="admin_anonymize_user", status_code=200)
async def anonymize_user(request: Request[Any, Any, Any], user_id: int) -> UserBody:
    async with transaction() as session:
        await user_service.authorize(session, _caller(request), user_id, user_service.AdminAction.ANONYMIZE)
        view = await user_service.anonymize_user(
            session, get_settings(), current_principal(request).actor, user_id, ip=client_ip(request)
        )
    return user_body(view.user, view.profile)


class BlockedIPBody(msgspec.Struct):
    ip: str
    reason: str
    expires_at: int


class NewBlock(msgspec.Struct, forbid_unknown_fields=True):
    EXAMPLE: ClassVar[dict[str, Any]] = {
        "ip": "203.0.113.7",
        "seconds": 3600,
        "reason": "Card testing: 40 declined pay-ins in 5 minutes",
    }

    ip: str
    seconds: int = 3600
    reason: str = "blocked by an admin"


@admin_routes.get("/ip-blocks", operation_id="admin_list_ip_blocks")
async def list_ip_blocks() -> list[BlockedIPBody]:
    return [BlockedIPBody(b.ip, b.reason, b.expires_at) for b in await ip_blocks.list_blocked(get_resources().redis)]


@admin_routes.post("/ip-blocks", operation_id="admin_block_ip", status_code=HTTP_201_CREATED)
async def block_ip(request: Request[Any, Any, Any], data: NewBlock) -> BlockedIPBody:
    blocked = await ip_blocks.block_ip(get_resources().redis, data.ip, data.seconds, data.reason)
    async with transaction() as session:
        await log_action(
            session,
            current_principal(request).actor,
            "ip.block",
            Target.of("ip", blocked.ip),
            {"seconds": data.seconds, "reason": data.reason},
            ip=client_ip(request),
        )
    return BlockedIPBody(blocked.ip, blocked.reason, blocked.expires_at)


@admin_routes.delete("/ip-blocks/{ip:str}", operation_id="admin_unblock_ip", status_code=HTTP_204_NO_CONTENT)
async def unblock_ip(request: Request[Any, Any, Any], ip: str) -> None:
    if not await ip_blocks.unblock_ip(get_resources().redis, ip):
        raise NotFound("This IP address is not blocked", ip=ip)
    async with transaction() as session:
        await log_action(
            session, current_principal(request).actor, "ip.unblock", Target.of("ip", ip), ip=client_ip(request)
        )


admin_handlers = [
    list_users,
    create_user,
    get_user,
    update_user,
    deactivate_user,
    reset_password,
    set_permissions,
    user_logins,
    export_user,
    anonymize_user,
    list_ip_blocks,
    block_ip,
    unblock_ip,
]
