"""Balances and their history, read straight from accounts and entries.

The seed's BalanceStoreHistory / BalanceTraderCryptoHistory / BalanceTraderFiatHistory /
BalancePlatformHistory are the entries of the store's, the trader's USDT, the trader's
fiat and the platform's profit accounts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from jivapay.adapters.db.ledger.postings import LedgerRepository
from jivapay.adapters.db.platform.reference import ReferenceRepository
from jivapay.domain.ledger import posting as L
from jivapay.services.merchants.stores import list_stores, owned_store

CSV_BATCH = 1000


@dataclasses.dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str
    decimals: int

    @property
    def text(self) -> str:
        return L.format_amount(self.amount, self.decimals)


@dataclasses.dataclass(frozen=True, slots=True)
class HistoryLine:
    id: int
    at: dt.datetime
    kind: str
    amount: str
    balance_after: str
    order_id: str | None  # the order's public reference (ord_…)
    transaction_id: int


async def _decimals(session: AsyncSession, currency: str, cache: dict[str, int]) -> int:
    if currency not in cache:
        cache[currency] = (
            L.USDT_DECIMALS if currency == L.USDT else await ReferenceRepository(session).fiat_minor_units(currency)
        )
    return cache[currency]


async def fiat_decimals(session: AsyncSession, currency: str) -> int:
    """Minor units of a currency (USDT: 6); NotFound for an unknown one."""
    return await _decimals(session, currency, {})


async def owner_balances(session: AsyncSession, owner_type: str, owner_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """owner id → {"available": Money, "frozen": Money, "fiat": [(currency, direction, Money)],
    "deposited": Money, "withdrawn": Money} (USDT in from the chain, net of reversals; USDT out to it)."""
    repo = LedgerRepository(session)
    accounts = await repo.accounts_of(owner_type, owner_ids)
    decimals: dict[str, int] = {}
    result: dict[int, dict[str, Any]] = {
        owner_id: {
            "available": Money(0, L.USDT, L.USDT_DECIMALS),
            "frozen": Money(0, L.USDT, L.USDT_DECIMALS),
            "fiat": [],
            "deposited": Money(0, L.USDT, L.USDT_DECIMALS),
            "withdrawn": Money(0, L.USDT, L.USDT_DECIMALS),
        }
        for owner_id in owner_ids
    }
    for account in accounts:
        money = Money(account.balance, account.currency, await _decimals(session, account.currency, decimals))
        if account.kind in ("available", "frozen"):
            result[account.owner_id][account.kind] = money
        elif account.kind == "fiat":
            result[account.owner_id]["fiat"].append((account.currency, account.label, money))
    flows: dict[tuple[int, str], int] = defaultdict(int)
    for owner_id, kind, total in await repo.flows_by_kind(owner_type, owner_ids, list(CHAIN_FLOWS), L.USDT):
        flows[(owner_id, CHAIN_FLOWS[kind])] += total
    for (owner_id, direction), total in flows.items():
        result[owner_id][direction] = Money(abs(total), L.USDT, L.USDT_DECIMALS)
    return result


# ledger transaction kinds that move an owner's USDT to or from a chain, and which total they count in
CHAIN_FLOWS = {
    "deposit": "deposited",
    "deposit_reversal": "deposited",
    "withdrawal": "withdrawn",
    "payout": "withdrawn",
}


async def merchant_balances(session: AsyncSession, merchant_id: int) -> list[tuple[int, str, dict[str, Any]]]:
    stores = await list_stores(session, merchant_id)
    balances = await owner_balances(session, "store", [s.id for s in stores])
    return [(s.id, s.name, balances[s.id]) for s in stores]


async def chain_net_inflow(session: AsyncSession, network: str) -> int:
    """micro-USDT that came in on ``network`` minus what left on it, as the ledger has it: what the
    platform's addresses on that chain should hold (the external account's balance, negated)."""
    account = await LedgerRepository(session).find_account(L.external_crypto(network))
    return -account.balance if account is not None else 0


async def platform_overview(session: AsyncSession) -> dict[str, Any]:
    repo = LedgerRepository(session)
    decimals: dict[str, int] = {}
    totals = []
    profit = []
    for owner_type, kind, currency, total, count in await repo.totals_by_kind():
        money = Money(int(total or 0), currency, await _decimals(session, currency, decimals))
        totals.append(
            {"owner_type": owner_type, "kind": kind, "currency": currency, "total": money.text, "accounts": count}
        )
        if owner_type == "platform" and kind == "profit":
            profit.append({"currency": currency, "amount": money.text})
    return {"profit": profit, "totals": totals}


async def _account_id(session: AsyncSession, key: L.AccountKey) -> int | None:
    account = await LedgerRepository(session).find_account(key)
    return account.id if account else None


async def history(
    session: AsyncSession,
    key: L.AccountKey,
    *,
    starting_after: int | None,
    limit: int,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    kind: str | None = None,
) -> list[HistoryLine]:
    """Newest first; an account never used has an empty history."""
    account_id = await _account_id(session, key)
    if account_id is None:
        return []
    decimals = await _decimals(session, key.currency, {})
    rows = await LedgerRepository(session).entries(
        account_id, starting_after=starting_after, limit=limit, since=since, until=until, kind=kind
    )
    return [
        HistoryLine(
            r.id,
            r.created_at,
            r.kind,
            L.format_amount(r.amount, decimals),
            L.format_amount(r.balance_after, decimals),
            r.order_id,
            r.transaction_id,
        )
        for r in rows
    ]


HISTORY_CSV_COLUMNS = (
    "entry_id", "created_at", "kind", "amount", "balance_after", "currency", "order_id", "transaction_id",
)  # fmt: skip


async def history_rows(
    session_factory: async_sessionmaker[AsyncSession],
    key: L.AccountKey,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    kind: str | None = None,
) -> AsyncIterator[list[list[object]]]:
    """An account's history as CSV rows (HISTORY_CSV_COLUMNS), in batches, each read in its own
    transaction (never the whole history in memory)."""
    cursor: int | None = None
    while True:
        async with session_factory() as session:
            lines = await history(
                session, key, starting_after=cursor, limit=CSV_BATCH, since=since, until=until, kind=kind
            )
        if not lines:
            return
        yield [
            [
                line.id,
                line.at.isoformat(),
                line.kind,
                line.amount,
                line.balance_after,
                key.currency,
                line.order_id,
                line.transaction_id,
            ]
            for line in lines
        ]
        if len(lines) < CSV_BATCH:
            return
        cursor = lines[-1].id


async def owned_store_account(session: AsyncSession, merchant_id: int, store_id: int, kind: str) -> L.AccountKey:
    await owned_store(session, merchant_id, store_id)  # another merchant's store is not found
    available, frozen = L.owner_accounts("store", store_id)
    return available if kind == "available" else frozen
