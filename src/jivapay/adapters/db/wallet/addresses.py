"""Deposit addresses: one per owner and network family; the derivation index from one sequence."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.wallet.models import ADDRESS_INDEX_SEQUENCE, WalletAddress


class AddressRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_owner(self, owner_type: str, owner_id: int) -> list[WalletAddress]:
        rows = await self.session.scalars(
            select(WalletAddress)
            .where(WalletAddress.owner_type == owner_type, WalletAddress.owner_id == owner_id)
            .order_by(WalletAddress.family)
        )
        return list(rows)

    async def get(self, owner_type: str, owner_id: int, family: str) -> WalletAddress | None:
        return await self.session.scalar(
            select(WalletAddress).where(
                WalletAddress.owner_type == owner_type,
                WalletAddress.owner_id == owner_id,
                WalletAddress.family == family,
            )
        )

    async def create(
        self, owner_type: str, owner_id: int, family: str, derive: Callable[[int], str]
    ) -> tuple[WalletAddress, bool]:
        """(the owner's address on ``family``, whether this call made it); concurrent calls get one row."""
        existing = await self.get(owner_type, owner_id, family)
        if existing is not None:
            return existing, False
        index = int(await self.session.scalar(select(ADDRESS_INDEX_SEQUENCE.next_value())) or 0)
        made = await self.session.scalar(
            insert(WalletAddress)
            .values(
                owner_type=owner_type, owner_id=owner_id, family=family, derivation_index=index, address=derive(index)
            )
            .on_conflict_do_nothing(index_elements=["owner_type", "owner_id", "family"])
            .returning(WalletAddress)
        )
        if made is not None:
            return made, True
        existing = await self.get(owner_type, owner_id, family)
        assert existing is not None  # the conflicting row is committed before ours could conflict
        return existing, False

    async def match(self, family: str, keys: Sequence[str]) -> dict[str, tuple[int, str, int, str]]:
        """Which of the addresses are ours, in one query: match key → (address id, owner type, owner id,
        the address as stored). EVM keys are lower case and compare with ``lower(address)`` (indexed)."""
        if not keys:
            return {}
        column = "lower(address)" if family == "evm" else "address"
        rows = await self.session.execute(
            text(
                f"SELECT {column} AS key, id, owner_type, owner_id, address FROM wallet_addresses"  # noqa: S608
                f" WHERE family = :family AND {column} = ANY(:keys)"
            ),
            {"family": family, "keys": sorted(set(keys))},
        )
        return {row.key: (row.id, row.owner_type, row.owner_id, row.address) for row in rows}

    async def is_ours(self, family: str, address: str) -> bool:
        """Whether a deposit address of ours is ``address`` (EVM: compared in lower case)."""
        return bool(await self.match(family, [address.lower() if family == "evm" else address]))
