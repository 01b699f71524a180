"""An independent check of the whole ledger (TigerBeetle-style: invariants in code and in an auditor)."""

from __future__ import annotations

import dataclasses

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.repositories.ledger import LedgerRepository


@dataclasses.dataclass(slots=True)
class LedgerAuditReport:
    checks: dict[str, int] = dataclasses.field(default_factory=dict)  # check → violations
    violations: list[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


async def audit_ledger(session: AsyncSession) -> LedgerAuditReport:
    """Zero-sum per transaction and currency, balance = Σ entries = last balance_after,
    frozen = Σ active holds, no negative balance outside external accounts."""
    repo = LedgerRepository(session)
    report = LedgerAuditReport()
    await repo.snapshot()  # every check reads the same consistent state

    rows = await repo.unbalanced_transactions()
    report.checks["zero_sum"] = len(rows)
    report.violations += [
        f"transaction {r.transaction_id} does not sum to zero in {r.currency}: {r.total}" for r in rows
    ]

    rows = await repo.balances_not_matching_entries()
    report.checks["balance_equals_entries"] = len(rows)
    report.violations += [f"account {r.id}: balance {r.balance} but its entries sum to {r.entries}" for r in rows]

    rows = await repo.last_balance_after_mismatches()
    report.checks["balance_equals_last_entry"] = len(rows)
    report.violations += [
        f"account {r.id}: balance {r.balance} but the last entry says {r.balance_after}" for r in rows
    ]

    rows = await repo.frozen_not_matching_holds()
    report.checks["frozen_equals_active_holds"] = len(rows)
    report.violations += [f"frozen account {r.id}: balance {r.balance} but active holds total {r.holds}" for r in rows]

    rows = await repo.negative_balances()
    report.checks["no_negative_balance"] = len(rows)
    report.violations += [f"account {r.id} ({r.kind}) is negative: {r.balance}" for r in rows]
    return report
