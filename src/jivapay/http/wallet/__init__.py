"""Wallet endpoints: deposit addresses, deposits, withdrawals, payouts, mounted by the role routers."""

from __future__ import annotations

from typing import Any

from litestar import Request

from jivapay.http.deps import current_principal, transaction
from jivapay.services.merchants.stores import owned_store


async def wallet_owner(request: Request[Any, Any, Any], owner_type: str, store_id: int | None) -> tuple[str, int]:
    """(owner type, owner id) of the caller's money: the trader or teamlead themselves, or the store
    in the path once it is checked to be the merchant's own (someone else's store is a 404)."""
    principal = current_principal(request)
    if owner_type != "store":
        return owner_type, principal.user_id
    assert store_id is not None
    async with transaction() as session:
        await owned_store(session, principal.user_id, store_id)
    return "store", store_id
