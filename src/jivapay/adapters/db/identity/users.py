from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, false, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.base import Base
from jivapay.adapters.db.models import (
    AdminProfile,
    MerchantProfile,
    RefreshToken,
    SupportProfile,
    TeamleadProfile,
    TraderProfile,
    User,
)
from jivapay.domain.identity.roles import AdminPermission

PROFILE_MODELS: dict[str, type[Base]] = {
    "admin": AdminProfile,
    "merchant": MerchantProfile,
    "trader": TraderProfile,
    "teamlead": TeamleadProfile,
    "support": SupportProfile,
}


@dataclasses.dataclass(frozen=True, slots=True)
class BearerFacts:
    login: str
    role: str
    is_active: bool
    token_version: int
    session_alive: bool


def permissions_of(profile: AdminProfile | None) -> frozenset[AdminPermission]:
    if profile is None:
        return frozenset()
    return frozenset(p for p in AdminPermission if getattr(profile, f"can_{p.value}"))


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def bearer_facts(self, user_id: int, session_id: uuid.UUID | None) -> BearerFacts | None:
        """What an access token is checked against, in one statement: the user's state and whether
        the token's login session still stands (some refresh token of its family neither revoked
        nor expired)."""
        alive = (
            select(RefreshToken.id)
            .where(
                RefreshToken.family_id == session_id,
                RefreshToken.revoked_at.is_(None),
                RefreshToken.expires_at > func.now(),
            )
            .exists()
            if session_id is not None
            else false()
        )
        stmt = select(User.login, User.role, User.is_active, User.token_version, alive.label("alive")).where(
            User.id == user_id
        )
        row = (await self.session.execute(stmt)).first()
        return BearerFacts(row.login, row.role, row.is_active, row.token_version, row.alive) if row else None

    async def get(self, user_id: int, *, for_update: bool = False) -> User | None:
        stmt = select(User).where(User.id == user_id)
        if for_update:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def get_by_login(self, login: str) -> User | None:
        stmt = select(User).where(func.lower(User.login) == login.lower())
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def any_with_role(self, role: str) -> bool:
        stmt = select(User.id).where(User.role == role).limit(1)
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def add(self, user: User) -> User:
        self.session.add(user)
        await self.session.flush()
        return user

    async def add_profile(self, role: str, user_id: int, fields: dict[str, Any]) -> Base:
        profile = PROFILE_MODELS[role](user_id=user_id, **fields)
        self.session.add(profile)
        await self.session.flush()
        return profile

    async def get_profile(self, role: str, user_id: int) -> Any:
        return await self.session.get(PROFILE_MODELS[role], user_id)

    async def list(
        self, *, role: str | None, is_active: bool | None, starting_after: int | None, limit: int
    ) -> Sequence[User]:
        stmt = select(User).order_by(User.id).limit(limit)
        if role is not None:
            stmt = stmt.where(User.role == role)
        if is_active is not None:
            stmt = stmt.where(User.is_active == is_active)
        if starting_after is not None:
            stmt = stmt.where(User.id > starting_after)
        return (await self.session.scalars(stmt)).all()

    async def admin_permissions(self, user_id: int) -> frozenset[AdminPermission]:
        """The permission flags an admin holds (none for anyone else)."""
        return permissions_of(await self.get_profile("admin", user_id))

    async def lock_admin_privileges(self) -> None:
        """Serialise every change that could take away the last fully privileged admin."""
        await self.session.execute(text("SELECT pg_advisory_xact_lock(hashtext('jivapay:admin-privileges'))"))

    async def count_full_admins(self, *, excluding: int) -> int:
        """Active admins holding every permission flag, other than ``excluding``."""
        flags = [getattr(AdminProfile, f"can_{permission.value}").is_(True) for permission in AdminPermission]
        stmt = (
            select(func.count())
            .select_from(User)
            .join(AdminProfile, AdminProfile.user_id == User.id)
            .where(User.role == "admin", User.is_active.is_(True), User.id != excluding, and_(*flags))
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def bump_token_version(self, user_id: int) -> None:
        await self.session.execute(update(User).where(User.id == user_id).values(token_version=User.token_version + 1))

    async def mark_login(self, user_id: int, when: dt.datetime, new_hash: str | None) -> None:
        values: dict[str, Any] = {"last_login_at": when}
        if new_hash is not None:
            values["password_hash"] = new_hash
        await self.session.execute(update(User).where(User.id == user_id).values(**values))
