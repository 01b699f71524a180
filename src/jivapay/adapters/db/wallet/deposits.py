"""Deposits and the per-network scan cursor (all the wallet monitor's SQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.wallet.models import ChainCursor, Deposit, ScannedBlock

_REVIVABLE = ("dropped", "reversed")


class DepositRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, rows: Sequence[dict[str, Any]]) -> int:
        """Insert deposits seen on chain; one already known keeps its row, except one that a reorg had
        dropped or reversed and the chain now has again: it is pending again, one generation on.
        Returns how many rows were new or revived."""
        if not rows:
            return 0
        statement = insert(Deposit).values(list(rows))
        excluded = statement.excluded
        upsert = statement.on_conflict_do_update(
            index_elements=["network", "tx_hash", "log_index"],
            set_={
                "status": "pending",
                "generation": Deposit.generation + 1,
                "block_number": excluded.block_number,
                "block_hash": excluded.block_hash,
                "confirmations": 0,
                "updated_at": func.now(),
            },
            where=Deposit.status.in_(_REVIVABLE),
        ).returning(Deposit.id)
        return len((await self.session.scalars(upsert)).all())

    async def watched(self, network: str, credited_since_block: int) -> list[Deposit]:
        """Pending deposits, and credited ones in the reorg window (block ≥ ``credited_since_block``)."""
        rows = await self.session.scalars(
            select(Deposit)
            .where(
                Deposit.network == network,
                or_(
                    Deposit.status == "pending",
                    and_(Deposit.status == "credited", Deposit.block_number >= credited_since_block),
                ),
            )
            .order_by(Deposit.block_number, Deposit.id)
        )
        return list(rows)

    async def lock(self, deposit_ids: Sequence[int]) -> dict[int, Deposit]:
        """The deposits, locked FOR UPDATE in id order (two polls never wait on each other in a cycle)."""
        rows = await self.session.scalars(
            select(Deposit)
            .where(Deposit.id.in_(sorted(deposit_ids)))
            .order_by(Deposit.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return {row.id: row for row in rows}

    async def set_confirmations(self, deposit_id: int, confirmations: int) -> None:
        await self.session.execute(
            update(Deposit)
            .where(Deposit.id == deposit_id, Deposit.status == "pending", Deposit.confirmations != confirmations)
            .values(confirmations=confirmations)
        )

    async def pending_counts(self) -> dict[str, int]:
        rows = await self.session.execute(
            select(Deposit.network, func.count()).where(Deposit.status == "pending").group_by(Deposit.network)
        )
        return {network: int(count) for network, count in rows}

    def _filtered(
        self,
        *,
        owner_type: str | None,
        owner_id: int | None,
        network: str | None,
        status: str | None,
        starting_after: int | None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> Select[Deposit]:
        query = select(Deposit)
        if owner_type is not None:
            query = query.where(Deposit.owner_type == owner_type)
        if owner_id is not None:
            query = query.where(Deposit.owner_id == owner_id)
        if network is not None:
            query = query.where(Deposit.network == network)
        if status is not None:
            query = query.where(Deposit.status == status)
        if starting_after is not None:
            query = query.where(Deposit.id < starting_after)
        if since is not None:
            query = query.where(Deposit.created_at >= since)
        if until is not None:
            query = query.where(Deposit.created_at < until)
        return query.order_by(Deposit.id.desc())

    async def page(self, *, limit: int, **filters: Any) -> list[Deposit]:
        return list(await self.session.scalars(self._filtered(**filters).limit(limit)))

    async def has_unrecovered_reversal(self, owner_type: str, owner_id: int) -> bool:
        """Whether a credited deposit of the owner left the chain and could not be taken back."""
        found = await self.session.scalar(
            select(Deposit.id)
            .where(Deposit.owner_type == owner_type, Deposit.owner_id == owner_id, Deposit.status == "reversal_failed")
            .limit(1)
        )
        return found is not None

    async def totals(self, owner_type: str, owner_ids: Sequence[int]) -> dict[int, int]:
        """USDT credited from the chain per owner (credited, not reversed), micro-USDT."""
        if not owner_ids:
            return {}
        rows = await self.session.execute(
            select(Deposit.owner_id, func.coalesce(func.sum(Deposit.amount), 0))
            .where(Deposit.owner_type == owner_type, Deposit.owner_id.in_(owner_ids), Deposit.status == "credited")
            .group_by(Deposit.owner_id)
        )
        return {int(owner_id): int(total) for owner_id, total in rows}


class CursorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, network: str) -> ChainCursor | None:
        return await self.session.get(ChainCursor, network, populate_existing=True)

    async def start(self, network: str, next_block: int) -> ChainCursor:
        """The cursor, made at ``next_block`` if the network has none yet."""
        await self.session.execute(
            insert(ChainCursor).values(network=network, next_block=next_block).on_conflict_do_nothing()
        )
        cursor = await self.get(network)
        assert cursor is not None
        return cursor

    async def advance(self, network: str, expected: int, next_block: int, tip_hash: str) -> bool:
        """Move the cursor from ``expected`` (compare-and-set: a concurrent scan that moved it wins)
        and remember the hash of the last block scanned."""
        moved = await self.session.execute(
            update(ChainCursor)
            .where(ChainCursor.network == network, ChainCursor.next_block == expected)
            .values(next_block=next_block)
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            return False
        await self.session.execute(
            insert(ScannedBlock)
            .values(network=network, number=next_block - 1, hash=tip_hash)
            .on_conflict_do_update(index_elements=["network", "number"], set_={"hash": tip_hash})
        )
        return True

    async def rewind(self, network: str, expected: int, next_block: int) -> bool:
        """Back to ``next_block`` after a reorg; the scanned hashes at and above it are forgotten."""
        moved = await self.session.execute(
            update(ChainCursor)
            .where(ChainCursor.network == network, ChainCursor.next_block == expected)
            .values(next_block=next_block)
        )
        await self.session.execute(
            delete(ScannedBlock).where(ScannedBlock.network == network, ScannedBlock.number >= next_block)
        )
        return bool(moved.rowcount == 1)  # type: ignore[attr-defined]

    async def scanned(self, network: str, limit: int) -> list[ScannedBlock]:
        """The most recent scanned tips, newest first."""
        rows = await self.session.scalars(
            select(ScannedBlock)
            .where(ScannedBlock.network == network)
            .order_by(ScannedBlock.number.desc())
            .limit(limit)
        )
        return list(rows)

    async def prune(self, network: str, below: int) -> None:
        await self.session.execute(
            delete(ScannedBlock).where(ScannedBlock.network == network, ScannedBlock.number < below)
        )

    async def polled(self, network: str, *, head: int, safe_head: int, rpc_errors: int) -> None:
        await self.session.execute(
            update(ChainCursor)
            .where(ChainCursor.network == network)
            .values(
                head=head,
                safe_head=safe_head,
                last_success_at=func.now(),
                rpc_errors=ChainCursor.rpc_errors + rpc_errors,
            )
        )

    async def failed(self, network: str, error: str, rpc_errors: int) -> None:
        await self.session.execute(
            update(ChainCursor)
            .where(ChainCursor.network == network)
            .values(last_error=error[:500], last_error_at=func.now(), rpc_errors=ChainCursor.rpc_errors + rpc_errors)
        )

    async def count_credits(self, network: str, credits: int) -> None:
        if credits:
            await self.session.execute(
                update(ChainCursor)
                .where(ChainCursor.network == network)
                .values(deposits_credited=ChainCursor.deposits_credited + credits)
            )

    async def all(self) -> list[ChainCursor]:
        return list(await self.session.scalars(select(ChainCursor).order_by(ChainCursor.network)))
