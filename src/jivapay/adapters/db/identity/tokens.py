from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import LoginAttempt, RefreshToken, TrustedDevice


class RefreshTokenRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, token: RefreshToken) -> None:
        self.session.add(token)
        await self.session.flush()

    async def get_by_hash_for_update(self, token_hash: str) -> RefreshToken | None:
        stmt = select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def mark_used(self, token_id: int, when: dt.datetime) -> bool:
        """Exactly one caller wins the rotation of a token."""
        result = await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.id == token_id, RefreshToken.used_at.is_(None), RefreshToken.revoked_at.is_(None))
            .values(used_at=when)
            .returning(RefreshToken.id)
        )
        return result.scalar_one_or_none() is not None

    async def revoke_family(self, family_id: uuid.UUID) -> int:
        result = await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=func.now())
            .returning(RefreshToken.id)
        )
        return len(result.all())

    async def scrub_for_user(self, user_id: int) -> None:
        await self.session.execute(
            update(RefreshToken).where(RefreshToken.user_id == user_id).values(ip=None, user_agent=None)
        )

    async def list_for_user(self, user_id: int, *, limit: int = 10_000) -> Sequence[RefreshToken]:
        stmt = select(RefreshToken).where(RefreshToken.user_id == user_id).order_by(RefreshToken.id).limit(limit)
        return (await self.session.scalars(stmt)).all()

    async def revoke_all_for_user(self, user_id: int) -> int:
        result = await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=func.now())
            .returning(RefreshToken.id)
        )
        return len(result.all())


class LoginHistoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, attempt: LoginAttempt) -> LoginAttempt:
        self.session.add(attempt)
        await self.session.flush()
        return attempt

    async def get(self, attempt_id: int) -> LoginAttempt | None:
        return await self.session.get(LoginAttempt, attempt_id)

    async def list_for_user(self, user_id: int, *, starting_after: int | None, limit: int) -> Sequence[LoginAttempt]:
        stmt = select(LoginAttempt).where(LoginAttempt.user_id == user_id).order_by(LoginAttempt.id.desc()).limit(limit)
        if starting_after is not None:
            stmt = stmt.where(LoginAttempt.id < starting_after)
        return (await self.session.scalars(stmt)).all()

    async def scrub_for_user(self, user_id: int) -> None:
        await self.session.execute(
            update(LoginAttempt)
            .where(LoginAttempt.user_id == user_id)
            .values(login="anonymized", ip=None, user_agent=None, country_code=None, country=None, city=None)
        )


class TrustedDeviceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(self, user_id: int, token_hash: str) -> TrustedDevice | None:
        stmt = select(TrustedDevice).where(TrustedDevice.user_id == user_id, TrustedDevice.token_hash == token_hash)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add(self, device: TrustedDevice) -> None:
        self.session.add(device)
        await self.session.flush()

    async def touch(self, device_id: int) -> None:
        await self.session.execute(
            update(TrustedDevice).where(TrustedDevice.id == device_id).values(last_seen_at=func.now())
        )

    async def list_for_user(self, user_id: int) -> Sequence[TrustedDevice]:
        stmt = select(TrustedDevice).where(TrustedDevice.user_id == user_id).order_by(TrustedDevice.id)
        return (await self.session.scalars(stmt)).all()

    async def scrub_for_user(self, user_id: int) -> None:
        await self.session.execute(
            update(TrustedDevice).where(TrustedDevice.user_id == user_id).values(user_agent=None)
        )
