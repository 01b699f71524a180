"""An independent check of the whole ledger (TigerBeetle-style: invariants in code and in an auditor)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.ledger.money_audit import MoneyAuditRepository
from jivapay.adapters.db.ledger.postings import LedgerRepository
from jivapay.adapters.db.platform.reference import ReferenceRepository
from jivapay.domain.ledger import posting as L

# a completed order's settlement is re-sent by the scheduler after 30 s; past this it is a violation
UNSETTLED_AFTER = dt.timedelta(minutes=10)


@dataclasses.dataclass(slots=True)
class LedgerAuditReport:
    checks: dict[str, int] = dataclasses.field(default_factory=dict)  # check → violations
    violations: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def record(self, check: str, violations: list[str]) -> None:
        """One check's outcome: the number of violations it found, and each one."""
        self.checks[check] = len(violations)
        self.violations += violations


async def audit_ledger(session: AsyncSession) -> LedgerAuditReport:
    """Zero-sum per transaction and currency, balance = Σ entries = last balance_after,
    frozen = Σ active holds, no negative balance outside external accounts."""
    repo = LedgerRepository(session)
    report = LedgerAuditReport()
    await repo.snapshot()  # every check reads the same consistent state

    rows = await repo.unbalanced_transactions()
    report.record(
        "zero_sum", [f"transaction {r.transaction_id} does not sum to zero in {r.currency}: {r.total}" for r in rows]
    )

    rows = await repo.balances_not_matching_entries()
    report.record(
        "balance_equals_entries",
        [f"account {r.id}: balance {r.balance} but its entries sum to {r.entries}" for r in rows],
    )

    rows = await repo.last_balance_after_mismatches()
    report.record(
        "balance_equals_last_entry",
        [f"account {r.id}: balance {r.balance} but the last entry says {r.balance_after}" for r in rows],
    )

    rows = await repo.frozen_not_matching_holds()
    report.record(
        "frozen_equals_active_holds",
        [f"frozen account {r.id}: balance {r.balance} but active holds total {r.holds}" for r in rows],
    )

    rows = await repo.negative_balances()
    report.record("no_negative_balance", [f"account {r.id} ({r.kind}) is negative: {r.balance}" for r in rows])
    return report


async def audit_platform(session: AsyncSession) -> LedgerAuditReport:
    """`jivapay ledger audit`: the ledger's own invariants, then the money paths (orders and holds)."""
    report = await audit_ledger(session)
    await audit_money_paths(session, report)
    return report


def _expected_hold(row: Any, minor_units: int) -> int:
    """What an order's hold must be: its terms (rate and commissions fixed at assignment) say it."""
    terms = (row.amount, minor_units, row.rate, row.store_commission, row.trader_commission)
    if row.direction == "payin":
        return L.payin_split(*terms).trader_hold
    return L.payout_split(*terms).store_hold


async def audit_money_paths(session: AsyncSession, report: LedgerAuditReport) -> None:
    """Every open order has exactly one active hold of the size its terms give; every final order
    has none; a pay-out waiting for a trader keeps the store's funds frozen; every active hold
    belongs to something live; every completed order is settled exactly once (docs/ledger.md)."""
    repo = MoneyAuditRepository(session)
    reference = ReferenceRepository(session)

    wrong: list[str] = []
    for row in await repo.holding_orders():
        if row.hold_status != "active":
            state = "no hold" if row.hold_status is None else f"its hold is {row.hold_status}"
            wrong.append(f"order {row.id} ({row.direction}, {row.status}) must hold funds but has {state}")
            continue
        expected = _expected_hold(row, await reference.fiat_minor_units(row.currency))
        if row.held != expected:
            wrong.append(f"order {row.id} holds {row.held} but its rate and commissions give {expected}")
    report.record("open_orders_hold_exactly", wrong)

    rows = await repo.orphan_holds()
    report.record(
        "no_orphan_holds",
        [
            f"hold {r.reference} ({r.amount}) is active but its owner is not live "
            f"(order: {r.order_status or '-'}, incoming order: {r.incoming_status or '-'})"
            for r in rows
        ],
    )

    rows = await repo.waiting_payouts_without_hold()
    report.record(
        "waiting_payouts_frozen",
        [f"pay-out {r.id} waits for a trader but {r.reference} is {r.hold_status or 'missing'}" for r in rows],
    )

    rows = await repo.unsettled_completed(UNSETTLED_AFTER)
    report.record(
        "completed_orders_settled",
        [
            f"completed order {r.id} is not settled" + (f": {r.settlement_error}" if r.settlement_error else "")
            for r in rows
        ],
    )

    rows = await repo.settlements_not_once()
    report.record(
        "settled_exactly_once",
        [
            f"order {r.order_id} ({r.status}): {r.transactions} settle transaction(s), "
            f"record {'missing' if r.transaction_id is None else r.transaction_id}, marked settled: {r.marked}"
            for r in rows
        ],
    )
