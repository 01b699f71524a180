"""The next nonce of each of our sending addresses (hot wallets, gas tanks) per EVM network."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.wallet.models import HotWalletNonce


class NonceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def reserve_nonce(self, network: str, address: str, chain_next: int) -> int:
        """``address``'s next nonce on ``network``, taken under the row's lock: the larger of ours and
        the chain's pending count (a transaction sent from elsewhere is not overwritten)."""
        await self.session.execute(
            insert(HotWalletNonce)
            .values(network=network, address=address, next_nonce=chain_next)
            .on_conflict_do_nothing()
        )
        row = await self.session.scalar(
            select(HotWalletNonce)
            .where(HotWalletNonce.network == network, HotWalletNonce.address == address)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        assert row is not None
        nonce = max(row.next_nonce, chain_next)
        row.next_nonce = nonce + 1
        return nonce
