"""Stores and traders as owners of balances and commission rates."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.domain.errors import NotFound
from jivapay.domain.identity.roles import Role
from jivapay.services.identity.directory import find_user
from jivapay.services.merchants.stores import get_store

Owner = Literal["store", "trader"]


async def check_owner(session: AsyncSession, owner: str, owner_id: int) -> None:
    """NotFound unless the store, or the trader (a user with the trader role), exists."""
    if owner == "store":
        await get_store(session, owner_id)  # NotFound("Store not found") when there is none
        return
    user = await find_user(session, owner_id)
    if user is None or user.role != Role.TRADER.value:
        raise NotFound("Trader not found", trader_id=owner_id)
