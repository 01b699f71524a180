"""SQL of the ledger. Only ``services.ledger`` calls it; balances change nowhere else."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db import raw
from jivapay.adapters.db.models import Account, Hold, LedgerEntry, LedgerTransaction, OrderHistory, SettledOrder
from jivapay.adapters.db.raw import RawStatement
from jivapay.adapters.db.uow import on_commit
from jivapay.adapters.memo import Memo
from jivapay.domain.ledger.posting import AccountKey

# after a CTE ``v`` of (account_id, delta): add the deltas, write the entries with balance_after
_APPLY_FROM_DELTAS = """
    updated AS (
        UPDATE accounts a SET balance = a.balance + v.delta, version = a.version + 1
        FROM v WHERE a.id = v.account_id
        RETURNING a.id, a.currency, a.balance
    )
    INSERT INTO ledger_entries (transaction_id, account_id, currency, amount, balance_after)
    SELECT :tx, updated.id, updated.currency, v.delta, updated.balance
    FROM updated JOIN v ON v.account_id = updated.id
    ORDER BY updated.id
"""
_APPLY_AND_RECORD = RawStatement(
    """
    WITH v AS (
        SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:deltas AS bigint[])) AS t(account_id, delta)
    ),
    """  # noqa: S608 - constants only
    + _APPLY_FROM_DELTAS
)

SHARED_OWNER_TYPES = ("platform", "external", "adjustment")

# The hot statements are prebuilt text: building Core statements per call costs more CPU than
# PostgreSQL spends running them.
# creates what is missing and returns every id in one round trip
# after a CTE ``k`` of the wanted keys: insert the missing ones, return all with their ids
_ENSURE_FROM_KEYS = """
    , created AS (
        INSERT INTO accounts (owner_type, owner_id, currency, kind, label)
        SELECT * FROM k ON CONFLICT DO NOTHING
        RETURNING id, owner_type, owner_id, currency, kind, label
    )
    SELECT * FROM created
    UNION ALL
    SELECT a.id, a.owner_type, a.owner_id, a.currency, a.kind, a.label
    FROM accounts a JOIN k USING (owner_type, owner_id, currency, kind, label)
"""
_ENSURE_ACCOUNTS = RawStatement(
    """
    WITH k AS (
        SELECT * FROM unnest(CAST(:owner_type AS varchar[]), CAST(:owner_id AS bigint[]),
                             CAST(:currency AS varchar[]), CAST(:kind AS varchar[]), CAST(:label AS varchar[]))
               AS t(owner_type, owner_id, currency, kind, label)
    )
    """  # noqa: S608 - constants only
    + _ENSURE_FROM_KEYS
)
_FIND_ACCOUNTS = RawStatement(
    """
    SELECT a.id, a.owner_type, a.owner_id, a.currency, a.kind, a.label
    FROM accounts a
    JOIN unnest(CAST(:owner_type AS varchar[]), CAST(:owner_id AS bigint[]), CAST(:currency AS varchar[]),
                CAST(:kind AS varchar[]), CAST(:label AS varchar[])) AS k(owner_type, owner_id, currency, kind, label)
      USING (owner_type, owner_id, currency, kind, label)
    """
)
# One global order (shared accounts last, then id), see lock_accounts. NO KEY UPDATE is the lock
# a balance UPDATE takes anyway: postings still queue on an account, but the KEY SHARE locks that
# foreign-key checks take (a hold or an entry pointing at the account, possibly written earlier
# in the same transaction) do not conflict with it — FOR UPDATE would deadlock two freezes of one
# trader that each inserted their hold first.
_LOCK_IN_ORDER = f"""
    ORDER BY owner_type IN ({", ".join(f"'{owner_type}'" for owner_type in SHARED_OWNER_TYPES)}), id
    FOR NO KEY UPDATE
"""
_LOCK_ACCOUNTS = RawStatement(
    """
    SELECT id, currency, kind, balance FROM accounts WHERE id = ANY(CAST(:ids AS bigint[]))
    """  # noqa: S608 - constants only
    + _LOCK_IN_ORDER
)
_INSERT_TRANSACTION = RawStatement(
    """
    INSERT INTO ledger_transactions (idempotency_key, kind, order_id, legs_hash, details)
    VALUES (:key, :kind, :order_id, :legs_hash, CAST(:details AS jsonb))
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id
    """
)
# a freeze: the transaction and its hold in one round trip (no hold when the key was used before)
_INSERT_TRANSACTION_AND_HOLD = RawStatement(
    """
    WITH tx AS (
        INSERT INTO ledger_transactions (idempotency_key, kind, order_id, legs_hash, details)
        VALUES (:key, :kind, :order_id, :legs_hash, CAST(:details AS jsonb))
        ON CONFLICT (idempotency_key) DO NOTHING
        RETURNING id
    ), hold AS (
        INSERT INTO holds (reference, available_account_id, frozen_account_id, amount, freeze_transaction_id)
        SELECT :reference, :available_account_id, :frozen_account_id, :amount, tx.id FROM tx
    )
    SELECT id FROM tx
    """
)

# PostgreSQL re-plans a prepared statement that takes an array on every run (its generic plan
# assumes a bigger array than the custom one sees), which cost more than running it. Postings
# touch a handful of accounts, so the two per-posting statements come in fixed arities — a
# list of scalar parameters padded to 2, 4, 8 or 16 — whose generic plans PostgreSQL keeps.
# Longer lists (never seen in practice) use the array form.
ARITIES = (2, 4, 8, 16)


def _arity(count: int) -> int | None:
    return next((n for n in ARITIES if count <= n), None)


def _lock_accounts_sql(arity: int) -> RawStatement:
    ids = ", ".join(f"CAST(:id{n} AS bigint)" for n in range(arity))
    return RawStatement(
        f"""
        SELECT id, currency, kind, balance FROM accounts WHERE id IN ({ids})
        """  # noqa: S608 - placeholders only
        + _LOCK_IN_ORDER
    )


def _apply_and_record_sql(arity: int) -> RawStatement:
    rows = ", ".join(f"(CAST(:id{n} AS bigint), CAST(:delta{n} AS bigint))" for n in range(arity))
    return RawStatement(
        f"""
        WITH v(account_id, delta) AS (VALUES {rows}),
        """
        + _APPLY_FROM_DELTAS
    )


def _ensure_accounts_sql(arity: int) -> RawStatement:
    rows = ", ".join(
        f"(CAST(:owner_type{n} AS varchar), CAST(:owner_id{n} AS bigint), CAST(:currency{n} AS varchar), "
        f"CAST(:kind{n} AS varchar), CAST(:label{n} AS varchar))"
        for n in range(arity)
    )
    return RawStatement(
        f"""
        WITH k(owner_type, owner_id, currency, kind, label) AS (
            SELECT * FROM (VALUES {rows}) AS v WHERE v.column1 IS NOT NULL
        )
        """  # noqa: S608 - placeholders only
        + _ENSURE_FROM_KEYS
    )


_LOCK_ACCOUNTS_BY_ARITY = {n: _lock_accounts_sql(n) for n in ARITIES}
_ENSURE_ACCOUNTS_BY_ARITY = {n: _ensure_accounts_sql(n) for n in ARITIES}
_APPLY_AND_RECORD_BY_ARITY = {n: _apply_and_record_sql(n) for n in ARITIES}

# account identities never change once committed: cache their ids per process (an evicted one
# is simply read again)
_account_ids: Memo[AccountKey, int] = Memo("ledger.account_ids", maxsize=100_000, ttl=None)


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
        found = {key: known for key in wanted if (known := _account_ids.get(key)) is not None}
        missing = sorted(wanted - set(found))
        if missing:
            params = {
                "owner_type": [k.owner_type for k in missing],
                "owner_id": [k.owner_id for k in missing],
                "currency": [k.currency for k in missing],
                "kind": [k.kind for k in missing],
                "label": [k.label for k in missing],
            }
            arity = _arity(len(missing))
            if arity is None:
                rows = await raw.fetch(self.session, _ENSURE_ACCOUNTS, params)
            else:  # padding rows are all NULL and filtered out
                padded: dict[str, Any] = {}
                for n in range(arity):
                    key = missing[n] if n < len(missing) else None
                    for field in ("owner_type", "owner_id", "currency", "kind", "label"):
                        padded[f"{field}{n}"] = getattr(key, field) if key else None
                rows = await raw.fetch(self.session, _ENSURE_ACCOUNTS_BY_ARITY[arity], padded)
            fresh = {AccountKey(*tuple(row)[1:]): row[0] for row in rows}
            if len(fresh) < len(missing):
                # inserted by a transaction that committed after this statement's snapshot
                rows = await raw.fetch(self.session, _FIND_ACCOUNTS, params)
                fresh = {AccountKey(*tuple(row)[1:]): row[0] for row in rows}
            found.update(fresh)

            async def remember() -> None:
                for key, account_id in fresh.items():
                    _account_ids.set(key, account_id)

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

    async def flows_by_kind(
        self, owner_type: str, owner_ids: Sequence[int], kinds: Sequence[str], currency: str
    ) -> list[tuple[int, str, int]]:
        """(owner id, transaction kind, net amount) of the owners' ``currency`` accounts, for those kinds."""
        if not owner_ids or not kinds:
            return []
        rows = await self.session.execute(
            select(Account.owner_id, LedgerTransaction.kind, func.coalesce(func.sum(LedgerEntry.amount), 0))
            .join(LedgerEntry, LedgerEntry.account_id == Account.id)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .where(
                Account.owner_type == owner_type,
                Account.owner_id.in_(owner_ids),
                Account.currency == currency,
                LedgerTransaction.kind.in_(kinds),
            )
            .group_by(Account.owner_id, LedgerTransaction.kind)
        )
        return [(int(owner_id), str(kind), int(total)) for owner_id, kind, total in rows]

    async def accounts_by_type(self, owner_type: str) -> Sequence[Account]:
        return (await self.session.scalars(select(Account).where(Account.owner_type == owner_type))).all()

    async def lock_accounts(self, ids: Iterable[int]) -> dict[int, LockedAccount]:
        """FOR NO KEY UPDATE in one global order, so two postings never wait on each other in a cycle.

        The order is (shared account?, id): the platform's and the external counterpart
        accounts, which almost every posting touches, are locked last — a posting waiting
        for a trader's account does not sit on them meanwhile.
        """
        ordered = sorted(set(ids))
        arity = _arity(len(ordered))
        if arity is None:
            rows = await raw.fetch(self.session, _LOCK_ACCOUNTS, {"ids": ordered})
        else:  # padded with the first id again: IN ignores the repeats
            padded = ordered + [ordered[0]] * (arity - len(ordered)) if ordered else [0] * arity
            params = {f"id{n}": value for n, value in enumerate(padded)}
            rows = await raw.fetch(self.session, _LOCK_ACCOUNTS_BY_ARITY[arity], params)
        return {row["id"]: LockedAccount(*row) for row in rows}

    # --- transactions and entries ---
    async def insert_transaction(
        self,
        key: str,
        kind: str,
        order_id: int | None,
        legs_hash: str,
        details: dict[str, Any],
        hold: dict[str, Any] | None = None,
    ) -> int | None:
        """The new transaction's id, or None when the idempotency key was used before.

        ``hold`` (reference, available_account_id, frozen_account_id, amount): a hold that
        the new transaction freezes, inserted by the same statement.
        """
        params = {
            "key": key,
            "kind": kind,
            "order_id": order_id,
            "legs_hash": legs_hash,
            "details": json.dumps(details, default=str),
            **(hold or {}),
        }
        statement = _INSERT_TRANSACTION if hold is None else _INSERT_TRANSACTION_AND_HOLD
        row = await raw.fetchrow(self.session, statement, params)
        return None if row is None else int(row["id"])

    async def transaction_by_key(self, key: str) -> LedgerTransaction | None:
        stmt = select(LedgerTransaction).where(LedgerTransaction.idempotency_key == key)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def apply_and_record(self, transaction_id: int, amounts: dict[int, int]) -> None:
        """Add the deltas to the (locked) accounts and write the entries with their balance_after."""
        ids = sorted(amounts)
        arity = _arity(len(ids))
        if arity is None:
            await raw.execute(
                self.session, _APPLY_AND_RECORD, {"tx": transaction_id, "ids": ids, "deltas": [amounts[i] for i in ids]}
            )
            return
        params: dict[str, int | None] = {"tx": transaction_id}
        for n in range(arity):  # padding rows (NULL, 0) match no account
            params[f"id{n}"] = ids[n] if n < len(ids) else None
            params[f"delta{n}"] = amounts[ids[n]] if n < len(ids) else 0
        await raw.execute(self.session, _APPLY_AND_RECORD_BY_ARITY[arity], params)

    # --- holds ---
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
                OrderHistory.public_id.label("order_id"),  # the order's public reference, never its row id
                LedgerTransaction.id.label("transaction_id"),
            )
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .outerjoin(OrderHistory, OrderHistory.id == LedgerTransaction.order_id)
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
