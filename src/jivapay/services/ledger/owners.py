"""Stores and traders as owners of balances and commission rates."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.domain.errors import NotFound
from jivapay.domain.identity.roles import Role
from jivapay.services.identity.directory import find_user
from jivapay.services.merchants.stores import get_store

Owner = Literal["store", "trader", "teamlead"]


async def check_owner(session: AsyncSession, owner: str, owner_id: int) -> None:
    """NotFound unless the store, or the trader or teamlead (a user with that role), exists."""
    if owner == "store":
        await get_store(session, owner_id)  # NotFound("Store not found") when there is none
        return
    role = Role.TEAMLEAD if owner == "teamlead" else Role.TRADER
    user = await find_user(session, owner_id)
    if user is None or user.role != role.value:
        raise NotFound(f"{role.value.capitalize()} not found", **{f"{role.value}_id": owner_id})
