"""Logging in, token rotation, logout, and who is calling (the principal)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.identity.tokens import (
    LoginHistoryRepository,
    RefreshTokenRepository,
    TrustedDeviceRepository,
)
from jivapay.adapters.db.identity.users import UserRepository
from jivapay.adapters.db.models import LoginAttempt, RefreshToken, TrustedDevice, User
from jivapay.adapters.geoip import get_geoip
from jivapay.adapters.resources import get_resources
from jivapay.adapters.security import (
    AccessClaims,
    burn_password_check_async,
    decode_access_token,
    hash_opaque_token,
    hash_password_async,
    issue_access_token,
    new_opaque_token,
    verify_password_async,
)
from jivapay.domain.errors import NotAuthenticated, NotFound, ValidationFailed
from jivapay.domain.identity.roles import AdminPermission, Role, check_password_policy
from jivapay.domain.platform.audit import Actor, Target
from jivapay.services.identity import login_throttle
from jivapay.services.platform.audit import log_action
from jivapay.services.platform.config import get_config
from jivapay.services.platform.outbox import enqueue_after_commit
from jivapay.settings import Settings

log = logging.getLogger("jivapay.auth")
INVALID_CREDENTIALS = "Invalid login or password"


@dataclasses.dataclass(frozen=True, slots=True)
class ClientInfo:
    ip: str | None
    user_agent: str | None
    device_token: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret


@dataclasses.dataclass(frozen=True, slots=True)
class LoginResult:
    tokens: TokenPair | None
    set_device_token: str | None = None  # a new trusted-device cookie to set
    reason: str | None = None
    retry_after: int | None = None  # "throttled": seconds until this login may try again


@dataclasses.dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    login: str
    role: Role
    permissions: frozenset[AdminPermission] = frozenset()
    session_id: uuid.UUID | None = None  # the login session of the access token

    @property
    def actor(self) -> Actor:
        return Actor.user(self.user_id)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def _issue_tokens(
    session: AsyncSession, settings: Settings, user: User, client: ClientInfo, family_id: uuid.UUID | None = None
) -> TokenPair:
    family_id = family_id or uuid.uuid4()
    access, lifetime = issue_access_token(
        settings, user_id=user.id, role=user.role, token_version=user.token_version, session_id=family_id
    )
    refresh = new_opaque_token()
    await RefreshTokenRepository(session).add(
        RefreshToken(
            user_id=user.id,
            token_hash=hash_opaque_token(refresh),
            family_id=family_id,
            token_version=user.token_version,
            expires_at=_now() + dt.timedelta(days=settings.refresh_token_expire_days),
            ip=client.ip,
            user_agent=(client.user_agent or "")[:512] or None,
        )
    )
    return TokenPair(access_token=access, expires_in=lifetime, refresh_token=refresh)


async def login(
    session: AsyncSession, settings: Settings, *, role: Role, login_name: str, password: str, client: ClientInfo
) -> LoginResult:
    """Check credentials on ``role``'s endpoint and record the attempt either way.

    Unknown login, wrong password, wrong role and inactive user all give the same answer
    after the same amount of work; only the stored history says which it was.
    """
    users = UserRepository(session)
    user = await users.get_by_login(login_name.strip()) if login_name.strip() else None
    devices = TrustedDeviceRepository(session)
    known = None
    if user is not None and client.device_token:
        known = await devices.find(user.id, hash_opaque_token(client.device_token))
    redis = get_resources().redis
    policy = await _throttle_policy()
    # a device that signed in before is not held back by strangers guessing this login's password
    wait = None if known is not None else await login_throttle.locked_for(redis, login_name)
    check = None
    reason: str | None
    if wait is not None:
        reason = "throttled"
    elif user is None:
        await burn_password_check_async(settings, password)
        reason = "unknown_login"
    else:
        check = await verify_password_async(settings, user.password_hash, password)
        reason = None
        if not check.ok:
            reason = "wrong_password"
        elif user.role != role:
            reason = "wrong_role"
        elif not user.is_active:
            reason = "inactive"
    if reason in ("unknown_login", "wrong_password"):
        failure = await login_throttle.record_failure(redis, login_name, policy)
        if failure is not None and failure.notify_owner and user is not None and user.email:
            await enqueue_after_commit(session, "identity.login_failures_email", user_id=user.id)
    location = get_geoip(settings).lookup(client.ip) if client.ip else None
    attempt = LoginAttempt(
        user_id=user.id if user else None,
        login=login_name.strip()[:254],
        endpoint_role=role.value,
        success=reason is None,
        reason=reason,
        ip=client.ip,
        user_agent=(client.user_agent or "")[:512] or None,
        country_code=location.country_code if location else None,
        country=location.country if location else None,
        city=location.city if location else None,
    )
    if reason is not None or user is None or check is None:
        await LoginHistoryRepository(session).add(attempt)
        log.info("login refused", extra={"reason": reason, "endpoint_role": role.value})
        return LoginResult(tokens=None, reason=reason, retry_after=wait)

    await login_throttle.clear(redis, login_name)
    set_device_token = None
    if known is not None:
        await devices.touch(known.id)
    else:
        set_device_token = new_opaque_token()
        await devices.add(
            TrustedDevice(
                user_id=user.id,
                token_hash=hash_opaque_token(set_device_token),
                user_agent=(client.user_agent or "")[:512] or None,
            )
        )
        attempt.new_device = True
    await LoginHistoryRepository(session).add(attempt)
    await users.mark_login(user.id, _now(), check.new_hash)
    if attempt.new_device and user.email:
        await enqueue_after_commit(session, "identity.new_device_email", login_attempt_id=attempt.id)
    await log_action(
        session,
        Actor.user(user.id),
        "auth.login",
        Target.of("user", user.id),
        {"new_device": attempt.new_device, "rehashed": check.new_hash is not None},
        ip=client.ip,
    )
    tokens = await _issue_tokens(session, settings, user, client)
    return LoginResult(tokens=tokens, set_device_token=set_device_token)


async def _throttle_policy() -> login_throttle.ThrottlePolicy:
    return login_throttle.ThrottlePolicy(
        threshold=max(await get_config("LOGIN_FAILURE_THRESHOLD", int), 1),
        window_seconds=max(await get_config("LOGIN_FAILURE_WINDOW_SECONDS", int), 1),
        max_lock_seconds=max(await get_config("LOGIN_LOCK_MAX_SECONDS", int), 1),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class RefreshResult:
    tokens: TokenPair | None
    reason: str | None = None


async def refresh(
    session: AsyncSession, settings: Settings, *, refresh_token: str, client: ClientInfo
) -> RefreshResult:
    """Rotate a refresh token. Presenting one that was already used revokes its whole family."""
    repo = RefreshTokenRepository(session)
    stored = await repo.get_by_hash_for_update(hash_opaque_token(refresh_token))
    if stored is None:
        return RefreshResult(None, "unknown")
    if stored.revoked_at is not None:
        return RefreshResult(None, "revoked")
    if stored.used_at is not None:
        revoked = await repo.revoke_family(stored.family_id)
        await log_action(
            session,
            Actor.user(stored.user_id),
            "auth.refresh_reuse",
            Target.of("user", stored.user_id),
            {"family_id": str(stored.family_id), "revoked": revoked},
            ip=client.ip,
        )
        log.warning("refresh token reuse: family revoked", extra={"user_id": stored.user_id})
        return RefreshResult(None, "reused")
    if stored.expires_at <= _now():
        return RefreshResult(None, "expired")
    user = await UserRepository(session).get(stored.user_id)
    if user is None or not user.is_active or user.token_version != stored.token_version:
        await repo.revoke_family(stored.family_id)
        return RefreshResult(None, "user_changed")
    if not await repo.mark_used(stored.id, _now()):
        return RefreshResult(None, "reused")
    return RefreshResult(await _issue_tokens(session, settings, user, client, family_id=stored.family_id))


async def logout(
    session: AsyncSession, principal: Principal, *, refresh_token: str | None, everywhere: bool, ip: str | None
) -> None:
    repo = RefreshTokenRepository(session)
    if everywhere:
        await UserRepository(session).bump_token_version(principal.user_id)
        await repo.revoke_all_for_user(principal.user_id)
    else:
        # this session ends: the access token's own login, and the one the refresh token names
        if principal.session_id is not None:
            await repo.revoke_family(principal.session_id)
        if refresh_token:
            stored = await repo.get_by_hash_for_update(hash_opaque_token(refresh_token))
            if stored is not None and stored.user_id == principal.user_id:
                await repo.revoke_family(stored.family_id)
    await log_action(
        session, principal.actor, "auth.logout", Target.of("user", principal.user_id), {"everywhere": everywhere}, ip=ip
    )


async def change_password(
    session: AsyncSession, settings: Settings, principal: Principal, *, current: str, new: str, ip: str | None
) -> None:
    user = await UserRepository(session).get(principal.user_id, for_update=True)
    if user is None:
        raise NotAuthenticated()
    if not (await verify_password_async(settings, user.password_hash, current)).ok:
        raise ValidationFailed("current password is wrong", field="current_password", rule="current_password")
    check_password_policy(new, min_length=settings.password_min_length)
    user.password_hash = await hash_password_async(settings, new)
    user.token_version += 1
    await RefreshTokenRepository(session).revoke_all_for_user(user.id)
    await log_action(session, principal.actor, "auth.password_change", Target.of("user", user.id), ip=ip)


async def authenticate_bearer(
    session: AsyncSession, settings: Settings, token: str, *, claims: AccessClaims | None = None
) -> Principal:
    """A valid access token for a user who still exists, is active and has not logged out everywhere.

    ``claims``: the token's, when the caller has decoded and checked it already."""
    claims = claims or decode_access_token(settings, token)
    user = await UserRepository(session).bearer_facts(claims.user_id, claims.session_id)
    if user is None or not user.is_active:
        raise NotAuthenticated("The access token is no longer valid", reason="user_inactive")
    if user.token_version != claims.token_version or user.role != claims.role:
        raise NotAuthenticated("The access token is no longer valid", reason="token_revoked")
    # the login the token belongs to still stands: logout, refresh-token reuse and every
    # "end all sessions" revoke its refresh-token family, and its access tokens die with it
    if not user.session_alive:
        raise NotAuthenticated("The session has ended; log in again", reason="session_ended")
    permissions: frozenset[AdminPermission] = frozenset()
    if user.role == Role.ADMIN:
        permissions = await UserRepository(session).admin_permissions(claims.user_id)
    return Principal(
        user_id=claims.user_id,
        login=user.login,
        role=Role(user.role),
        permissions=permissions,
        session_id=claims.session_id,
    )


async def login_history(
    session: AsyncSession, user_id: int, *, starting_after: int | None, limit: int
) -> Sequence[LoginAttempt]:
    if await UserRepository(session).get(user_id) is None:
        raise NotFound("User not found", user_id=user_id)
    return await LoginHistoryRepository(session).list_for_user(user_id, starting_after=starting_after, limit=limit)
