"""SQL of the ledger. Only ``services.ledger`` calls it; balances change nowhere else."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import Account, Hold, LedgerEntry, LedgerTransaction, SettledOrder
from jivapay.adapters.db.uow import on_commit
from jivapay.domain.ledger import AccountKey

_APPLY_AND_RECORD = text(
    """
    WITH v AS (
        SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:deltas AS bigint[])) AS t(account_id, delta)
    ), updated AS (
        UPDATE accounts a SET balance = a.balance + v.delta, version = a.version + 1
        FROM v WHERE a.id = v.account_id
        RETURNING a.id, a.currency, a.balance
    )
    INSERT INTO ledger_entries (transaction_id, account_id, currency, amount, balance_after)
    SELECT :tx, updated.id, updated.currency, v.delta, updated.balance
    FROM updated JOIN v ON v.account_id = updated.id
    ORDER BY updated.id
    """
)

SHARED_OWNER_TYPES = ("platform", "external", "adjustment")

# account identities never change once committed: cache their ids per process
_account_ids: dict[AccountKey, int] = {}


def forget_cached_accounts() -> None:
    """For tests that empty the tables."""
    _account_ids.clear()


@dataclasses.dataclass(frozen=True, slots=True)
class LockedAccount:
    id: int
    currency: str
    kind: str
    balance: int


class LedgerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- accounts ---
    async def account_ids(self, keys: Iterable[AccountKey]) -> dict[AccountKey, int]:
        wanted = set(keys)
        found = {key: _account_ids[key] for key in wanted if key in _account_ids}
        missing = wanted - set(found)
        if missing:
            rows = [
                {
                    "owner_type": k.owner_type,
                    "owner_id": k.owner_id,
                    "currency": k.currency,
                    "kind": k.kind,
                    "label": k.label,
                }
                for k in sorted(missing)
            ]
            await self.session.execute(pg_insert(Account).values(rows).on_conflict_do_nothing())
            columns = (Account.owner_type, Account.owner_id, Account.currency, Account.kind, Account.label)
            stmt = select(Account.id, *columns).where(
                tuple_(*columns).in_([(k.owner_type, k.owner_id, k.currency, k.kind, k.label) for k in missing])
            )
            fresh = {AccountKey(*row[1:]): row[0] for row in (await self.session.execute(stmt)).all()}
            found.update(fresh)

            async def remember() -> None:
                _account_ids.update(fresh)

            on_commit(self.session, remember)
        return found

    async def find_account(self, key: AccountKey) -> Account | None:
        stmt = select(Account).where(
            Account.owner_type == key.owner_type,
            Account.owner_id == key.owner_id,
            Account.currency == key.currency,
            Account.kind == key.kind,
            Account.label == key.label,
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def accounts_of(self, owner_type: str, owner_ids: Sequence[int]) -> Sequence[Account]:
        stmt = select(Account).where(Account.owner_type == owner_type, Account.owner_id.in_(owner_ids))
        return (await self.session.scalars(stmt.order_by(Account.id))).all()

    async def accounts_by_type(self, owner_type: str) -> Sequence[Account]:
        return (await self.session.scalars(select(Account).where(Account.owner_type == owner_type))).all()

    async def lock_accounts(self, ids: Iterable[int]) -> dict[int, LockedAccount]:
        """FOR UPDATE in one global order, so two postings never wait on each other in a cycle.

        The order is (shared account?, id): the platform's and the external counterpart
        accounts, which almost every posting touches, are locked last — a posting waiting
        for a trader's account does not sit on them meanwhile.
        """
        shared = Account.owner_type.in_(SHARED_OWNER_TYPES)
        stmt = (
            select(Account.id, Account.currency, Account.kind, Account.balance)
            .where(Account.id.in_(sorted(set(ids))))
            .order_by(shared, Account.id)
            .with_for_update()
        )
        return {row.id: LockedAccount(*row) for row in (await self.session.execute(stmt)).all()}

    # --- transactions and entries ---
    async def insert_transaction(
        self, key: str, kind: str, order_id: int | None, legs_hash: str, details: dict[str, Any]
    ) -> int | None:
        """The new transaction's id, or None when the idempotency key was used before."""
        stmt = (
            pg_insert(LedgerTransaction)
            .values(idempotency_key=key, kind=kind, order_id=order_id, legs_hash=legs_hash, details=details)
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(LedgerTransaction.id)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def transaction_by_key(self, key: str) -> LedgerTransaction | None:
        stmt = select(LedgerTransaction).where(LedgerTransaction.idempotency_key == key)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def apply_and_record(self, transaction_id: int, amounts: dict[int, int]) -> None:
        """Add the deltas to the (locked) accounts and write the entries with their balance_after."""
        ids = sorted(amounts)
        await self.session.execute(
            _APPLY_AND_RECORD, {"tx": transaction_id, "ids": ids, "deltas": [amounts[i] for i in ids]}
        )

    # --- holds ---
    async def insert_hold(self, **values: Any) -> int:
        stmt = insert(Hold).values(**values).returning(Hold.id)
        return (await self.session.execute(stmt)).scalar_one()

    async def hold_by_reference(self, reference: str) -> Hold | None:
        return (await self.session.execute(select(Hold).where(Hold.reference == reference))).scalar_one_or_none()

    async def lock_hold(self, reference: str) -> Hold | None:
        """The hold row, locked: concurrent resolutions of one hold queue here, before any account lock."""
        # populate_existing: a row already in the session must be refreshed with what we locked
        stmt = (
            select(Hold).where(Hold.reference == reference).with_for_update().execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def finish_hold(self, hold_id: int, status: str, transaction_id: int) -> bool:
        """One UPDATE: a second one would re-check every foreign key of the row (and lock accounts)."""
        table = cast(Table, Hold.__table__)
        result = await self.session.execute(
            update(table)
            .where(table.c.id == hold_id, table.c.status == "active")
            .values(status=status, resolved_at=func.now(), resolve_transaction_id=transaction_id)
            .returning(table.c.id)
        )
        return result.scalar_one_or_none() is not None

    # --- settlements ---
    async def settlement(self, order_id: int) -> SettledOrder | None:
        return await self.session.get(SettledOrder, order_id)

    async def insert_settlement(self, order_id: int, direction: str, transaction_id: int, profit: int) -> None:
        await self.session.execute(
            insert(SettledOrder).values(
                order_id=order_id, direction=direction, transaction_id=transaction_id, platform_profit=profit
            )
        )

    # --- history ---
    async def entries(
        self,
        account_id: int,
        *,
        starting_after: int | None,
        limit: int,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        kind: str | None = None,
    ) -> Sequence[Any]:
        stmt = (
            select(
                LedgerEntry.id,
                LedgerEntry.amount,
                LedgerEntry.balance_after,
                LedgerEntry.created_at,
                LedgerTransaction.kind,
                LedgerTransaction.order_id,
                LedgerTransaction.id.label("transaction_id"),
            )
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .where(LedgerEntry.account_id == account_id)
            .order_by(LedgerEntry.id.desc())
            .limit(limit)
        )
        if starting_after is not None:
            stmt = stmt.where(LedgerEntry.id < starting_after)
        if since is not None:
            stmt = stmt.where(LedgerEntry.created_at >= since)
        if until is not None:
            stmt = stmt.where(LedgerEntry.created_at < until)
        if kind is not None:
            stmt = stmt.where(LedgerTransaction.kind == kind)
        return (await self.session.execute(stmt)).all()

    async def totals_by_kind(self) -> Sequence[Any]:
        stmt = (
            select(Account.owner_type, Account.kind, Account.currency, func.sum(Account.balance), func.count())
            .group_by(Account.owner_type, Account.kind, Account.currency)
            .order_by(Account.owner_type, Account.kind, Account.currency)
        )
        return (await self.session.execute(stmt)).all()

    # --- audit (read-only, whole-ledger scans) ---
    async def snapshot(self) -> None:
        """Must be the transaction's first statement: one consistent view for a multi-query audit."""
        await self.session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))

    async def unbalanced_transactions(self) -> Sequence[Any]:
        stmt = (
            select(LedgerEntry.transaction_id, LedgerEntry.currency, func.sum(LedgerEntry.amount).label("total"))
            .group_by(LedgerEntry.transaction_id, LedgerEntry.currency)
            .having(func.sum(LedgerEntry.amount) != 0)
        )
        return (await self.session.execute(stmt)).all()

    async def balances_not_matching_entries(self) -> Sequence[Any]:
        sums = (
            select(LedgerEntry.account_id, func.sum(LedgerEntry.amount).label("total"))
            .group_by(LedgerEntry.account_id)
            .subquery()
        )
        stmt = (
            select(Account.id, Account.balance, func.coalesce(sums.c.total, 0).label("entries"))
            .outerjoin(sums, sums.c.account_id == Account.id)
            .where(Account.balance != func.coalesce(sums.c.total, 0))
        )
        return list((await self.session.execute(stmt)).all())

    async def last_balance_after_mismatches(self) -> Sequence[Any]:
        last = (
            select(LedgerEntry.account_id, func.max(LedgerEntry.id).label("last_id"))
            .group_by(LedgerEntry.account_id)
            .subquery()
        )
        stmt = (
            select(Account.id, Account.balance, LedgerEntry.balance_after)
            .join(last, last.c.account_id == Account.id)
            .join(LedgerEntry, LedgerEntry.id == last.c.last_id)
            .where(LedgerEntry.balance_after != Account.balance)
        )
        return (await self.session.execute(stmt)).all()

    async def frozen_not_matching_holds(self) -> Sequence[Any]:
        active = (
            select(Hold.frozen_account_id, func.sum(Hold.amount).label("total"))
            .where(Hold.status == "active")
            .group_by(Hold.frozen_account_id)
            .subquery()
        )
        stmt = (
            select(Account.id, Account.balance, func.coalesce(active.c.total, 0).label("holds"))
            .outerjoin(active, active.c.frozen_account_id == Account.id)
            .where(Account.kind == "frozen", Account.balance != func.coalesce(active.c.total, 0))
        )
        return list((await self.session.execute(stmt)).all())

    async def negative_balances(self) -> Sequence[Any]:
        stmt = select(Account.id, Account.kind, Account.balance).where(Account.kind != "external", Account.balance < 0)
        return (await self.session.execute(stmt)).all()
