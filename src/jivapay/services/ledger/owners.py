"""Stores and traders as owners of balances and commission rates."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.identity.users import UserRepository
from jivapay.adapters.db.merchants.stores import StoreRepository
from jivapay.domain.errors import NotFound
from jivapay.domain.identity.roles import Role

Owner = Literal["store", "trader"]


async def check_owner(session: AsyncSession, owner: str, owner_id: int) -> None:
    """NotFound unless the store, or the trader (a user with the trader role), exists."""
    if owner == "store":
        if await StoreRepository(session).get(owner_id) is None:
            raise NotFound("Store not found", store_id=owner_id)
        return
    user = await UserRepository(session).get(owner_id)
    if user is None or user.role != Role.TRADER.value:
        raise NotFound("Trader not found", trader_id=owner_id)
