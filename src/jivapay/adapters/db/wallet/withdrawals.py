"""Withdrawals and their signed attempts (the SQL of the way out)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.wallet.models import Withdrawal, WithdrawalAttempt

_NOT_COUNTED = ("rejected", "canceled", "failed")


class WithdrawalRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, withdrawal: Withdrawal) -> Withdrawal:
        self.session.add(withdrawal)
        await self.session.flush()
        return withdrawal

    async def by_key(self, owner_type: str, owner_id: int, key: str) -> Withdrawal | None:
        return await self.session.scalar(
            select(Withdrawal).where(
                Withdrawal.owner_type == owner_type, Withdrawal.owner_id == owner_id, Withdrawal.idempotency_key == key
            )
        )

    async def by_public_id(self, public_id: str, *, lock: bool = False) -> Withdrawal | None:
        query = select(Withdrawal).where(Withdrawal.public_id == public_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return await self.session.scalar(query)

    async def lock(self, withdrawal_id: int) -> Withdrawal | None:
        return await self.session.scalar(
            select(Withdrawal)
            .where(Withdrawal.id == withdrawal_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def get(self, withdrawal_id: int) -> Withdrawal | None:
        return await self.session.get(Withdrawal, withdrawal_id, populate_existing=True)

    async def withdrawn_since(self, owner_type: str, owner_id: int, since: dt.datetime) -> int:
        """micro-USDT asked for since ``since`` (fees excluded), ended-without-sending ones not counted."""
        total = await self.session.scalar(
            select(func.coalesce(func.sum(Withdrawal.amount), 0)).where(
                Withdrawal.owner_type == owner_type,
                Withdrawal.owner_id == owner_id,
                Withdrawal.created_at >= since,
                Withdrawal.status.not_in(_NOT_COUNTED),
            )
        )
        return int(total or 0)

    async def has_completed_to(self, owner_type: str, owner_id: int, network: str, address: str) -> bool:
        found = await self.session.scalar(
            select(Withdrawal.id)
            .where(
                Withdrawal.owner_type == owner_type,
                Withdrawal.owner_id == owner_id,
                Withdrawal.network == network,
                Withdrawal.to_address == address,
                Withdrawal.status == "completed",
            )
            .limit(1)
        )
        return found is not None

    def _filtered(self, filters: dict[str, Any], starting_after: int | None) -> Select[Withdrawal]:
        query = select(Withdrawal)
        for name in ("owner_type", "owner_id", "network", "status"):
            if filters.get(name) is not None:
                query = query.where(getattr(Withdrawal, name) == filters[name])
        if starting_after is not None:
            query = query.where(Withdrawal.id < starting_after)
        return query.order_by(Withdrawal.id.desc())

    async def page(self, *, limit: int, starting_after: int | None = None, **filters: Any) -> list[Withdrawal]:
        return list(await self.session.scalars(self._filtered(filters, starting_after).limit(limit)))

    async def open_ids(self, network: str, statuses: Sequence[str]) -> list[int]:
        rows = await self.session.scalars(
            select(Withdrawal.id)
            .where(Withdrawal.network == network, Withdrawal.status.in_(statuses))
            .order_by(Withdrawal.id)
            .limit(500)
        )
        return list(rows)

    async def held_total(self, network: str) -> int:
        """micro-USDT (amount + fee) held for withdrawals not yet ended on ``network``."""
        total = await self.session.scalar(
            select(func.coalesce(func.sum(Withdrawal.amount + Withdrawal.fee), 0)).where(
                Withdrawal.network == network, Withdrawal.status.in_(("requested", "approved", "broadcast"))
            )
        )
        return int(total or 0)

    async def counts(self, network: str) -> dict[str, int]:
        rows = await self.session.execute(
            select(Withdrawal.status, func.count())
            .where(Withdrawal.network == network, Withdrawal.status.in_(("requested", "approved", "broadcast")))
            .group_by(Withdrawal.status)
        )
        return {status: int(count) for status, count in rows}

    async def in_flight(self, network: str) -> int:
        """micro-USDT of the withdrawals signed on ``network`` and not yet ended (they still leave the hot wallet)."""
        total = await self.session.scalar(
            select(func.coalesce(func.sum(Withdrawal.amount), 0)).where(
                Withdrawal.network == network, Withdrawal.status == "broadcast"
            )
        )
        return int(total or 0)

    async def lock_owner(self, owner_type: str, owner_id: int) -> None:
        """One withdrawal request per owner at a time (a transaction-scoped advisory lock): the
        24-hour limit is read and the new request written under it."""
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"withdrawal:{owner_type}:{owner_id}"}
        )

    # --- attempts ------------------------------------------------------------------------

    async def add_attempt(self, attempt: WithdrawalAttempt) -> None:
        self.session.add(attempt)
        await self.session.flush()

    async def attempts(self, withdrawal_id: int) -> list[WithdrawalAttempt]:
        rows = await self.session.scalars(
            select(WithdrawalAttempt)
            .where(WithdrawalAttempt.withdrawal_id == withdrawal_id)
            .order_by(WithdrawalAttempt.id)
        )
        return list(rows)

    async def mark_sent(self, attempt_id: int, error: str | None) -> None:
        values: dict[str, Any] = {"last_error": error}
        if error is None:
            values["sent_at"] = func.coalesce(WithdrawalAttempt.sent_at, func.now())
        await self.session.execute(update(WithdrawalAttempt).where(WithdrawalAttempt.id == attempt_id).values(**values))

    async def record_gas(self, attempt_id: int, fee: int) -> None:
        """The native coin the mined attempt paid (the hot wallet's gas)."""
        await self.session.execute(
            update(WithdrawalAttempt).where(WithdrawalAttempt.id == attempt_id).values(gas_fee=fee)
        )

    async def gas_spent(self, network: str) -> int:
        """Native units the hot wallet has paid in gas for ``network``'s withdrawals (mined ones)."""
        total = await self.session.scalar(
            select(func.coalesce(func.sum(WithdrawalAttempt.gas_fee), 0))
            .join(Withdrawal, Withdrawal.id == WithdrawalAttempt.withdrawal_id)
            .where(Withdrawal.network == network)
        )
        return int(total or 0)
