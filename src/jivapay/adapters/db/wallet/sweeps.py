"""Sweeps of deposit addresses into the hot wallet (the sweeper's SQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.wallet.models import Sweep, SweepAttempt

# addresses with a credited deposit on the network that came after their last sweep (or that
# were never swept), and no sweep open: the candidates, a bounded batch per pass
_CANDIDATES = text(
    """
    SELECT a.id, a.address, a.derivation_index
      FROM wallet_addresses a
     WHERE a.family = :family
       AND EXISTS (
           SELECT 1 FROM wallet_deposits d
            WHERE d.address_id = a.id AND d.network = :network AND d.status = 'credited'
              AND d.credited_at > COALESCE(
                  (SELECT max(s.created_at) FROM wallet_sweeps s
                    WHERE s.address_id = a.id AND s.network = :network AND s.status = 'done'),
                  '-infinity'))
       AND NOT EXISTS (
           SELECT 1 FROM wallet_sweeps s
            WHERE s.address_id = a.id AND s.network = :network AND s.status IN ('fueling', 'sweeping'))
       -- an address whose sweeps keep failing (a blacklisted address, too little gas) is left to an
       -- operator after MAX_FAILURES, instead of burning the gas tank on every pass
       AND (SELECT count(*) FROM wallet_sweeps s
             WHERE s.address_id = a.id AND s.network = :network AND s.status = 'failed'
               AND s.created_at > COALESCE(
                   (SELECT max(d.created_at) FROM wallet_sweeps d
                     WHERE d.address_id = a.id AND d.network = :network AND d.status = 'done'),
                   '-infinity')) < :max_failures
     ORDER BY a.id
     LIMIT :limit
    """
)


MAX_FAILURES = 3  # failed sweeps of an address (since its last success) before it is left to an operator


# deposit addresses that may still hold USDT: a credited deposit newer than their last completed
# sweep, or a sweep still open
_UNSWEPT = text(
    """
    SELECT a.address
      FROM wallet_addresses a
     WHERE a.family = :family
       AND (EXISTS (
              SELECT 1 FROM wallet_deposits d
               WHERE d.address_id = a.id AND d.network = :network AND d.status = 'credited'
                 AND d.credited_at > COALESCE(
                     (SELECT max(s.created_at) FROM wallet_sweeps s
                       WHERE s.address_id = a.id AND s.network = :network AND s.status = 'done'),
                     '-infinity'))
            OR EXISTS (
              SELECT 1 FROM wallet_sweeps s
               WHERE s.address_id = a.id AND s.network = :network AND s.status IN ('fueling', 'sweeping', 'failed')))
     ORDER BY a.id
     LIMIT :limit
    """
)


class SweepRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def candidates(self, network: str, family: str, limit: int) -> list[tuple[int, str, int]]:
        rows = await self.session.execute(
            _CANDIDATES, {"network": network, "family": family, "limit": limit, "max_failures": MAX_FAILURES}
        )
        return [(row.id, row.address, row.derivation_index) for row in rows]

    async def open(self, network: str, address_id: int, address: str, status: str, fuel: int | None) -> int | None:
        """A new open sweep, or None when the address already has one (the partial unique index)."""
        return await self.session.scalar(
            insert(Sweep)
            .values(network=network, address_id=address_id, address=address, status=status, fuel_amount=fuel)
            .on_conflict_do_nothing(
                index_elements=["network", "address_id"], index_where=text("status IN ('fueling', 'sweeping')")
            )
            .returning(Sweep.id)
        )

    async def open_ids(self, network: str) -> list[int]:
        rows = await self.session.scalars(
            select(Sweep.id)
            .where(Sweep.network == network, Sweep.status.in_(("fueling", "sweeping")))
            .order_by(Sweep.id)
        )
        return list(rows)

    async def get(self, sweep_id: int) -> Sweep | None:
        return await self.session.get(Sweep, sweep_id, populate_existing=True)

    async def lock(self, sweep_id: int) -> Sweep | None:
        return await self.session.scalar(
            select(Sweep).where(Sweep.id == sweep_id).with_for_update().execution_options(populate_existing=True)
        )

    async def recent(self, network: str | None, limit: int) -> list[Sweep]:
        query = select(Sweep).order_by(Sweep.id.desc()).limit(limit)
        if network is not None:
            query = query.where(Sweep.network == network)
        return list(await self.session.scalars(query))

    async def unswept_addresses(self, network: str, family: str, limit: int) -> list[str]:
        rows = await self.session.execute(_UNSWEPT, {"network": network, "family": family, "limit": limit})
        return [row.address for row in rows]

    async def counts(self, network: str) -> dict[str, int]:
        rows = await self.session.execute(
            select(Sweep.status, func.count()).where(Sweep.network == network).group_by(Sweep.status)
        )
        return {status: int(count) for status, count in rows}

    # --- attempts ------------------------------------------------------------------------

    async def add_attempt(self, attempt: SweepAttempt) -> None:
        self.session.add(attempt)
        await self.session.flush()

    async def open_attempts(self, sweep_id: int, step: str) -> list[SweepAttempt]:
        """The step's current line: signed, none of them mined yet, none proven dead; oldest first."""
        rows = await self.session.scalars(
            select(SweepAttempt)
            .where(SweepAttempt.sweep_id == sweep_id, SweepAttempt.step == step, SweepAttempt.closed_at.is_(None))
            .order_by(SweepAttempt.id)
        )
        return list(rows)

    async def attempts_of(self, sweep_ids: list[int]) -> dict[int, list[SweepAttempt]]:
        """Every attempt of these sweeps, oldest first, by sweep (one query)."""
        found: dict[int, list[SweepAttempt]] = {sweep_id: [] for sweep_id in sweep_ids}
        rows = await self.session.scalars(
            select(SweepAttempt).where(SweepAttempt.sweep_id.in_(sweep_ids)).order_by(SweepAttempt.id)
        )
        for row in rows:
            found[row.sweep_id].append(row)
        return found

    async def mark_sent(self, attempt_id: int, error: str | None) -> None:
        values: dict[str, Any] = {"last_error": error}
        if error is None:
            values["sent_at"] = func.coalesce(SweepAttempt.sent_at, func.now())
        await self.session.execute(update(SweepAttempt).where(SweepAttempt.id == attempt_id).values(**values))

    async def close_line(self, sweep_id: int, step: str, mined_id: int | None = None, gas_fee: int = 0) -> None:
        """End the step's open line: one of it mined (``mined_id``, with the native fee it paid), or
        none of it ever can be."""
        now = dt.datetime.now(dt.UTC)
        await self.session.execute(
            update(SweepAttempt)
            .where(SweepAttempt.sweep_id == sweep_id, SweepAttempt.step == step, SweepAttempt.closed_at.is_(None))
            .values(closed_at=now)
        )
        if mined_id is not None:
            await self.session.execute(
                update(SweepAttempt).where(SweepAttempt.id == mined_id).values(mined=True, gas_fee=gas_fee)
            )

    async def native_spent(self, network: str) -> dict[str, int]:
        """Native units (wei or sun) the sweeps of ``network`` moved and burned: ``fuel_sent`` (the
        gas tank's mined fuel transfers), ``fuel_gas`` (the gas tank's fee for them), ``sweep_gas``
        (the deposit addresses' fee for the token transfers, paid out of the fuel)."""
        rows = await self.session.execute(
            select(
                SweepAttempt.step,
                func.coalesce(func.sum(SweepAttempt.amount), 0),
                func.coalesce(func.sum(SweepAttempt.gas_fee), 0),
            )
            .join(Sweep, Sweep.id == SweepAttempt.sweep_id)
            .where(Sweep.network == network, SweepAttempt.mined.is_(True))
            .group_by(SweepAttempt.step)
        )
        found = {step: (int(amount or 0), int(fee or 0)) for step, amount, fee in rows}
        fuel_amount, fuel_gas = found.get("fuel", (0, 0))
        return {"fuel_sent": fuel_amount, "fuel_gas": fuel_gas, "sweep_gas": found.get("sweep", (0, 0))[1]}
