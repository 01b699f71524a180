"""Admin management of users of every role, their profiles and permissions; privacy requests."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import User
from jivapay.adapters.db.repositories.requisites import RequisiteRepository
from jivapay.adapters.db.repositories.stores import StoreRepository
from jivapay.adapters.db.repositories.tokens import (
    LoginHistoryRepository,
    RefreshTokenRepository,
    TrustedDeviceRepository,
)
from jivapay.adapters.db.repositories.users import UserRepository
from jivapay.adapters.security import hash_password_async
from jivapay.domain import money
from jivapay.domain.audit import Actor, Target
from jivapay.domain.errors import Conflict, NotFound, ValidationFailed
from jivapay.domain.identity import AdminPermission, Role, check_password_policy, normalize_email, normalize_login
from jivapay.services.audit import log_action
from jivapay.services.requisites import scrub_trader_requisites
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
            await RequisiteRepository(session).sync_priority(user.id, fields["traffic_priority"])
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
    before = sorted(p.value for p in AdminPermission if getattr(profile, f"can_{p.value}"))
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
    """Everything personal we hold about a user (GDPR access request), unmasked, audited."""
    view = await get_user(session, user_id)
    user = view.user
    logins = await LoginHistoryRepository(session).list_for_user(user.id, starting_after=None, limit=10_000)
    devices = await TrustedDeviceRepository(session).list_for_user(user.id)
    stores = await StoreRepository(session).list_owned(user.id) if user.role == Role.MERCHANT else []
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
        "profile": {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in view.profile.items()},
        "login_history": [
            {
                "at": _iso(a.created_at),
                "ip": str(a.ip) if a.ip else None,
                "user_agent": a.user_agent,
                "success": a.success,
                "reason": a.reason,
                "country": a.country,
                "city": a.city,
            }
            for a in logins
        ],
        "trusted_devices": [
            {"user_agent": d.user_agent, "created_at": _iso(d.created_at), "last_seen_at": _iso(d.last_seen_at)}
            for d in devices
        ],
        "stores": [{"id": s.id, "name": s.name} for s in stores],
    }


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
