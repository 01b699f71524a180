"""Who someone is, as other contexts look it up: users, a trader's profile, login attempts.

Plain reads that import no other service, so any context can use them without an import cycle
(``users`` itself reaches the orders context).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.identity.tokens import LoginHistoryRepository
from jivapay.adapters.db.identity.users import UserRepository
from jivapay.adapters.db.models import LoginAttempt, TraderProfile, User
from jivapay.domain.identity.roles import Role


async def find_user(session: AsyncSession, user_id: int) -> User | None:
    return await UserRepository(session).get(user_id)


async def find_user_by_login(session: AsyncSession, login: str) -> User | None:
    return await UserRepository(session).get_by_login(login)


async def anyone_with_role(session: AsyncSession, role: Role) -> bool:
    return await UserRepository(session).any_with_role(role.value)


async def trader_profile(session: AsyncSession, trader_id: int) -> TraderProfile | None:
    profile: TraderProfile | None = await UserRepository(session).get_profile(Role.TRADER.value, trader_id)
    return profile


async def login_attempt(session: AsyncSession, attempt_id: int) -> LoginAttempt | None:
    return await LoginHistoryRepository(session).get(attempt_id)


async def recent_login_attempts(session: AsyncSession, user_id: int, *, limit: int) -> Sequence[LoginAttempt]:
    """The user's latest login attempts, newest first."""
    return await LoginHistoryRepository(session).list_for_user(user_id, starting_after=None, limit=limit)
