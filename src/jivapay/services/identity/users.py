"""Admin management of users of every role, their profiles and permissions; privacy requests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.identity.privacy import PrivacyRepository
from jivapay.adapters.db.identity.tokens import (
    LoginHistoryRepository,
    RefreshTokenRepository,
    TrustedDeviceRepository,
)
from jivapay.adapters.db.identity.users import UserRepository, permissions_of
from jivapay.adapters.db.models import User
from jivapay.adapters.security import hash_password_async
from jivapay.domain import money
from jivapay.domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from jivapay.domain.identity.roles import (
    ALL_ADMIN_PERMISSIONS,
    AdminPermission,
    Role,
    check_password_policy,
    normalize_email,
    normalize_login,
)
from jivapay.domain.platform.audit import Actor, Target
from jivapay.services.merchants.stores import list_stores
from jivapay.services.orders.requisites import list_requisites, scrub_trader_requisites, sync_trader_priority
from jivapay.services.platform.audit import log_action
from jivapay.settings import Settings

# profile fields an admin may set, per role
PROFILE_FIELDS: dict[Role, dict[str, type]] = {
    Role.MERCHANT: {"company_name": str, "contact_phone": str},
    Role.TRADER: {
        "teamlead_id": int,
        "traffic_priority": int,
        "in_work": bool,
        "payin_enabled": bool,
        "payout_enabled": bool,
    },
    Role.TEAMLEAD: {"team_name": str, "reward_share": Decimal},  # reward_share arrives as a decimal string
    Role.SUPPORT: {"queues": list},
    Role.ADMIN: {},
}


# --- who may act on whom ----------------------------------------------------------------------
#
# An admin acts on another admin (edit, deactivate, reset password, set flags, export,
# anonymize) only holding manage_permissions and every flag the target holds; flags it grants
# are flags it holds. Changing a trader's team or a teamlead's share moves money: manage_finances.
# Nobody takes away the last active admin holding every flag (the platform would be locked out).


class AdminAction(enum.StrEnum):
    UPDATE = "update"
    DEACTIVATE = "deactivate"
    RESET_PASSWORD = "reset_password"  # noqa: S105 - an action name
    PERMISSIONS = "permissions"
    EXPORT = "export"
    ANONYMIZE = "anonymize"


@dataclasses.dataclass(frozen=True, slots=True)
class AdminCaller:
    user_id: int
    permissions: frozenset[AdminPermission]


# profile fields that move money: a teamlead's share of platform profit, a trader's team
MONEY_PROFILE_FIELDS = frozenset({"reward_share", "teamlead_id"})


def check_money_fields(caller: AdminCaller, profile: dict[str, Any]) -> None:
    touched = sorted(MONEY_PROFILE_FIELDS & set(profile))
    if touched and AdminPermission.MANAGE_FINANCES not in caller.permissions:
        raise PermissionDenied(
            "Changing these profile fields needs manage_finances", required_permission="manage_finances", fields=touched
        )


def check_grantable(caller: AdminCaller, permissions: Sequence[AdminPermission]) -> None:
    if not permissions:
        return
    if AdminPermission.MANAGE_PERMISSIONS not in caller.permissions:
        raise PermissionDenied(
            "Granting admin permissions needs manage_permissions", required_permission="manage_permissions"
        )
    beyond = sorted(p.value for p in set(permissions) - caller.permissions)
    if beyond:
        raise PermissionDenied("An admin grants only permissions it holds itself", permissions=beyond)


async def authorize(
    session: AsyncSession,
    caller: AdminCaller,
    user_id: int,
    action: AdminAction,
    *,
    profile: dict[str, Any] | None = None,
    changes: dict[str, Any] | None = None,
    new_permissions: Sequence[AdminPermission] | None = None,
) -> None:
    """Refuse (403/409) an admin action on a user that the rules above do not allow."""
    repo = UserRepository(session)
    target = await repo.get(user_id, for_update=True)  # its flags cannot change under the check
    if target is None:
        raise NotFound("User not found", user_id=user_id)
    check_money_fields(caller, profile or {})
    if new_permissions is not None:
        check_grantable(caller, new_permissions)
    if target.role != Role.ADMIN:
        return
    flags = await repo.admin_permissions(target.id)
    if AdminPermission.MANAGE_PERMISSIONS not in caller.permissions:
        raise PermissionDenied(
            "Acting on an admin needs manage_permissions", required_permission="manage_permissions", user_id=user_id
        )
    stronger = sorted(p.value for p in flags - caller.permissions)
    if stronger:
        raise PermissionDenied(
            "The target admin holds permissions you do not", reason="target_more_privileged", permissions=stronger
        )
    takes_away = action in (AdminAction.DEACTIVATE, AdminAction.ANONYMIZE) or (
        action == AdminAction.UPDATE and (changes or {}).get("is_active") is False
    )
    if action == AdminAction.PERMISSIONS and new_permissions is not None:
        takes_away = frozenset(new_permissions) != ALL_ADMIN_PERMISSIONS
    if takes_away and target.is_active and flags == ALL_ADMIN_PERMISSIONS:
        await repo.lock_admin_privileges()
        if await repo.count_full_admins(excluding=target.id) == 0:
            raise Conflict(
                "This is the last active admin holding every permission; the platform would be locked out",
                reason="last_full_admin",
                user_id=user_id,
            )


@dataclasses.dataclass(frozen=True, slots=True)
class UserView:
    user: User
    profile: dict[str, Any]


def _profile_dict(role: str, profile: Any) -> dict[str, Any]:
    if profile is None:
        return {}
    columns = [c.key for c in profile.__table__.columns if c.key not in ("user_id", "created_at", "updated_at")]
    return {name: getattr(profile, name) for name in columns}


async def _check_profile(session: AsyncSession, role: Role, fields: dict[str, Any]) -> dict[str, Any]:
    allowed = PROFILE_FIELDS[role]
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationFailed(f"unknown profile fields for a {role.value}: {sorted(unknown)}", fields=sorted(unknown))
    if "reward_share" in fields:
        fields = {**fields, "reward_share": money.REWARD_SHARE.check(fields["reward_share"], field="reward_share")}
    for name, value in fields.items():
        expected = allowed[name]
        if value is not None and (not isinstance(value, expected) or (expected is int and isinstance(value, bool))):
            raise ValidationFailed(f"{name} must be a {expected.__name__}", field=name)
    if role == Role.SUPPORT and "queues" in fields and not all(isinstance(q, str) for q in fields["queues"] or []):
        raise ValidationFailed("queues must be a list of strings", field="queues")
    teamlead_id = fields.get("teamlead_id")
    if teamlead_id is not None:
        teamlead = await UserRepository(session).get(teamlead_id)
        if teamlead is None or teamlead.role != Role.TEAMLEAD:
            raise ValidationFailed("teamlead_id must be a team lead's user id", field="teamlead_id")
    return fields


async def get_user(session: AsyncSession, user_id: int) -> UserView:
    repo = UserRepository(session)
    user = await repo.get(user_id)
    if user is None:
        raise NotFound("User not found", user_id=user_id)
    return UserView(user, _profile_dict(user.role, await repo.get_profile(user.role, user.id)))


async def list_users(
    session: AsyncSession, *, role: Role | None, is_active: bool | None, starting_after: int | None, limit: int
) -> Sequence[User]:
    return await UserRepository(session).list(
        role=role.value if role else None, is_active=is_active, starting_after=starting_after, limit=limit
    )


async def create_user(
    session: AsyncSession,
    settings: Settings,
    actor: Actor,
    *,
    login: str,
    password: str,
    role: Role,
    email: str | None = None,
    full_name: str | None = None,
    profile: dict[str, Any] | None = None,
    permissions: Sequence[AdminPermission] = (),
    ip: str | None = None,
) -> UserView:
    login = normalize_login(login)
    email = normalize_email(email) if email else None
    check_password_policy(password, min_length=settings.password_min_length)
    fields = await _check_profile(session, role, profile or {})
    repo = UserRepository(session)
    if await repo.get_by_login(login) is not None:
        raise Conflict("A user with this login already exists", field="login")
    user = await repo.add(
        User(
            login=login,
            email=email,
            full_name=full_name,
            password_hash=await hash_password_async(settings, password),
            role=role.value,
        )
    )
    if role == Role.ADMIN:
        fields = {f"can_{p.value}": True for p in permissions}
    await repo.add_profile(role.value, user.id, fields)
    await log_action(
        session,
        actor,
        "user.create",
        Target.of("user", user.id),
        {"login": login, "role": role.value, "profile": fields},
        ip=ip,
    )
    return await get_user(session, user.id)


async def update_user(
    session: AsyncSession,
    actor: Actor,
    user_id: int,
    *,
    changes: dict[str, Any],
    profile: dict[str, Any],
    ip: str | None = None,
) -> UserView:
    repo = UserRepository(session)
    user = await repo.get(user_id, for_update=True)
    if user is None:
        raise NotFound("User not found", user_id=user_id)
    role = Role(user.role)
    fields = await _check_profile(session, role, profile)
    if "email" in changes:
        changes["email"] = normalize_email(changes["email"]) if changes["email"] else None
    for name, value in changes.items():
        setattr(user, name, value)
    if changes.get("is_active") is False:
        user.token_version += 1
        await RefreshTokenRepository(session).revoke_all_for_user(user.id)
    if fields:
        stored = await repo.get_profile(role.value, user.id)
        if stored is None:
            await repo.add_profile(role.value, user.id, fields)
        else:
            for name, value in fields.items():
                setattr(stored, name, value)
        if role == Role.TRADER and fields.get("traffic_priority") is not None:
            await sync_trader_priority(session, user.id, fields["traffic_priority"])
    await session.flush()
    await log_action(
        session,
        actor,
        "user.update",
        Target.of("user", user.id),
        {"changes": dict(changes.items()), "profile": fields},
        ip=ip,
    )
    return await get_user(session, user.id)


async def deactivate_user(session: AsyncSession, actor: Actor, user_id: int, *, ip: str | None = None) -> UserView:
    return await update_user(session, actor, user_id, changes={"is_active": False}, profile={}, ip=ip)


async def reset_password(
    session: AsyncSession, settings: Settings, actor: Actor, user_id: int, *, password: str, ip: str | None = None
) -> None:
    check_password_policy(password, min_length=settings.password_min_length)
    user = await UserRepository(session).get(user_id, for_update=True)
    if user is None:
        raise NotFound("User not found", user_id=user_id)
    user.password_hash = await hash_password_async(settings, password)
    user.token_version += 1
    await RefreshTokenRepository(session).revoke_all_for_user(user.id)
    await log_action(session, actor, "user.password_reset", Target.of("user", user.id), ip=ip)


async def set_permissions(
    session: AsyncSession, actor: Actor, user_id: int, *, permissions: Sequence[AdminPermission], ip: str | None = None
) -> UserView:
    repo = UserRepository(session)
    user = await repo.get(user_id, for_update=True)
    if user is None:
        raise NotFound("User not found", user_id=user_id)
    if user.role != Role.ADMIN:
        raise ValidationFailed("permission flags exist only for admins", field="user_id")
    profile = await repo.get_profile("admin", user.id)
    if profile is None:
        profile = await repo.add_profile("admin", user.id, {})
    before = sorted(p.value for p in permissions_of(profile))
    for permission in AdminPermission:
        setattr(profile, f"can_{permission.value}", permission in permissions)
    await session.flush()
    await log_action(
        session,
        actor,
        "user.permissions",
        Target.of("user", user.id),
        {"before": before, "after": sorted(p.value for p in permissions)},
        ip=ip,
    )
    return await get_user(session, user.id)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


async def export_user_data(
    session: AsyncSession, actor: Actor, user_id: int, *, ip: str | None = None
) -> dict[str, Any]:
    """Everything we hold about a person (GDPR access request) as one document, audited.

    Profile, login history, sessions, trusted devices, stores, requisites (numbers masked: the
    full number is the trader's to see in their cabinet), orders, and the audit entries by or
    about them. Order amounts are minor units of the order's currency.
    """
    view = await get_user(session, user_id)
    user = view.user
    logins = await LoginHistoryRepository(session).list_for_user(user.id, starting_after=None, limit=10_000)
    devices = await TrustedDeviceRepository(session).list_for_user(user.id)
    sessions = await RefreshTokenRepository(session).list_for_user(user.id)
    stores = await list_stores(session, user.id) if user.role == Role.MERCHANT else []
    requisites = (
        await list_requisites(session, trader_id=user.id, filters={}, starting_after=None, limit=10_000)
        if user.role == Role.TRADER
        else []
    )
    privacy = PrivacyRepository(session)
    orders = await privacy.orders_of(user.id, user.role)
    audit = await privacy.audit_about(user.id)
    await log_action(session, actor, "user.export", Target.of("user", user.id), ip=ip)
    return {
        "user": {
            "id": user.id,
            "login": user.login,
            "email": user.email,
            "full_name": user.full_name,
            "role": user.role,
            "is_active": user.is_active,
            "created_at": _iso(user.created_at),
            "last_login_at": _iso(user.last_login_at),
            "anonymized_at": _iso(user.anonymized_at),
        },
        "profile": {k: _plain(v) for k, v in view.profile.items()},
        "login_history": [
            {
                "at": _iso(a.created_at),
                "login": a.login,
                "ip": str(a.ip) if a.ip else None,
                "user_agent": a.user_agent,
                "success": a.success,
                "reason": a.reason,
                "country_code": a.country_code,
                "country": a.country,
                "city": a.city,
            }
            for a in logins
        ],
        "sessions": [
            {
                "created_at": _iso(t.created_at),
                "expires_at": _iso(t.expires_at),
                "revoked_at": _iso(t.revoked_at),
                "ip": str(t.ip) if t.ip else None,
                "user_agent": t.user_agent,
            }
            for t in sessions
        ],
        "trusted_devices": [
            {"user_agent": d.user_agent, "created_at": _iso(d.created_at), "last_seen_at": _iso(d.last_seen_at)}
            for d in devices
        ],
        "stores": [{"id": s.id, "name": s.name} for s in stores],
        "requisites": [
            {
                "id": r.id,
                "type": r.type,
                "currency": r.currency,
                "owner_name": r.owner_name,
                "number": f"{r.number_bin} **** **** {r.number_last4}" if r.number_bin else f"**** {r.number_last4}",
                "created_at": _iso(r.created_at),
                "archived_at": _iso(r.archived_at),
            }
            for r in requisites
        ],
        "orders": [
            {
                "id": o.public_id,
                "direction": o.direction,
                "status": o.status,
                "amount": o.amount,
                "currency": o.currency,
                "created_at": _iso(o.created_at),
                "completed_at": _iso(o.completed_at),
            }
            for o in orders
        ],
        "audit": [
            {
                "at": _iso(e.created_at),
                "action": e.action,
                "actor": f"{e.actor_type}:{e.actor_id}" if e.actor_id else e.actor_type,
                "target": f"{e.target_type}:{e.target_id}" if e.target_type else None,
                "ip": str(e.ip) if e.ip else None,
                "details": e.details,
            }
            for e in audit
        ],
    }


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


async def anonymize_user(
    session: AsyncSession, settings: Settings, actor: Actor, user_id: int, *, ip: str | None = None
) -> UserView:
    """Scrub personal data; ids stay, so orders and ledger entries keep pointing at the same row."""
    repo = UserRepository(session)
    user = await repo.get(user_id, for_update=True)
    if user is None:
        raise NotFound("User not found", user_id=user_id)
    if user.anonymized_at is not None:
        raise Conflict("The user is already anonymized", user_id=user_id)
    user.login = f"anonymized-{user.id}"
    user.email = None
    user.full_name = None
    user.is_active = False
    user.token_version += 1
    user.password_hash = "!"  # noqa: S105 - an invalid hash: matches no password
    user.anonymized_at = dt.datetime.now(dt.UTC)
    profile = await repo.get_profile(user.role, user.id)
    if user.role == Role.MERCHANT and profile is not None:
        profile.company_name = None
        profile.contact_phone = None
    await RefreshTokenRepository(session).revoke_all_for_user(user.id)
    await RefreshTokenRepository(session).scrub_for_user(user.id)
    await TrustedDeviceRepository(session).scrub_for_user(user.id)
    await LoginHistoryRepository(session).scrub_for_user(user.id)
    if user.role == Role.TRADER:
        await scrub_trader_requisites(session, settings, user.id)
    await session.flush()
    await log_action(session, actor, "user.anonymize", Target.of("user", user.id), ip=ip)
    return await get_user(session, user.id)


async def set_traffic(
    session: AsyncSession, actor: Actor, trader_id: int, *, in_work: bool, ip: str | None = None
) -> None:
    """Switch a trader's traffic: out of work, selection skips every requisite of theirs at once."""
    profile = await UserRepository(session).get_profile(Role.TRADER.value, trader_id)
    if profile is None:
        raise NotFound("Trader not found", trader_id=trader_id)
    if profile.in_work != in_work:
        profile.in_work = in_work
        await log_action(session, actor, "trader.traffic", Target.of("user", trader_id), {"in_work": in_work}, ip=ip)
