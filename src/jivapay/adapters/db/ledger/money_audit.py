"""SQL of the money-path audit: orders, incoming orders and holds checked against each other.

Read-only whole-table scans for the hourly auditor (``services.ledger_audit``); they run in the
ledger audit's REPEATABLE READ snapshot.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# statuses where the order's hold must be active (completed: until its settlement captures it)
_HOLDING = "('pending_payment', 'client_confirmed', 'pending', 'trader_paid', 'disputed')"
_WAITING_PAYOUT = "('new', 'retrying', 'review')"

# which hold references belong to what: order:<order id>, payout-init:<incoming id>[:after:<declined order id>],
# withdrawal:<id>; a CASE keeps the cast from running on a reference of another kind
_ORDER_OF_HOLD = "CASE WHEN h.reference ~ '^order:[0-9]+$' THEN substr(h.reference, 7)::bigint END"
_INCOMING_OF_HOLD = (
    "CASE WHEN h.reference ~ '^payout-init:[0-9]+(:after:[0-9]+)?$' THEN split_part(h.reference, ':', 2)::bigint END"
)


class MoneyAuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def holding_orders(self) -> Sequence[Any]:
        """Orders that must have an active hold now, with the hold found under their reference."""
        stmt = text(
            f"""
            SELECT o.id, o.direction, o.status, o.amount, o.currency, o.rate, o.store_commission,
                   o.trader_commission, h.amount AS held, h.status AS hold_status
            FROM order_history o
            LEFT JOIN holds h ON h.reference = 'order:' || o.id
            WHERE o.status IN {_HOLDING}
               OR (o.status = 'completed' AND o.settled_at IS NULL)
            ORDER BY o.id
            """  # noqa: S608 - constants only
        )
        return (await self.session.execute(stmt)).all()

    async def orphan_holds(self) -> Sequence[Any]:
        """Active holds of a known kind whose owner is not live: a final or settled order, a pay-out
        that is assigned, failed or rejected (or holds under another reference), a withdrawal (none
        exist before the wallet lands)."""
        stmt = text(
            f"""
            SELECT h.id, h.reference, h.amount, o.status AS order_status, i.status AS incoming_status
            FROM holds h
            LEFT JOIN order_history o ON o.id = {_ORDER_OF_HOLD}
            LEFT JOIN incoming_orders i ON i.id = {_INCOMING_OF_HOLD}
            WHERE h.status = 'active'
              AND (h.reference LIKE 'order:%' OR h.reference LIKE 'payout-init:%' OR h.reference LIKE 'withdrawal:%')
              AND NOT coalesce(
                    (o.id IS NOT NULL AND (o.status IN {_HOLDING} OR (o.status = 'completed' AND o.settled_at IS NULL)))
                 OR (i.id IS NOT NULL AND i.direction = 'payout' AND i.status IN {_WAITING_PAYOUT}
                     AND coalesce(i.store_hold_reference, 'payout-init:' || i.id) = h.reference),
                 false)
            ORDER BY h.id
            """  # noqa: S608 - constants only
        )
        return (await self.session.execute(stmt)).all()

    async def waiting_payouts_without_hold(self) -> Sequence[Any]:
        """Pay-outs waiting for a trader whose store funds are not frozen under their reference."""
        stmt = text(
            f"""
            SELECT i.id, coalesce(i.store_hold_reference, 'payout-init:' || i.id) AS reference,
                   h.status AS hold_status
            FROM incoming_orders i
            LEFT JOIN holds h ON h.reference = coalesce(i.store_hold_reference, 'payout-init:' || i.id)
            WHERE i.direction = 'payout' AND i.status IN {_WAITING_PAYOUT}
              AND (h.id IS NULL OR h.status <> 'active')
            ORDER BY i.id
            """  # noqa: S608 - constants only
        )
        return (await self.session.execute(stmt)).all()

    async def unsettled_completed(self, older_than: dt.timedelta) -> Sequence[Any]:
        """Completed orders not settled for longer than the reconciliation needs, or flagged unsettleable."""
        stmt = text(
            """
            SELECT id, completed_at, settlement_error FROM order_history
            WHERE status = 'completed' AND settled_at IS NULL
              AND (settlement_error IS NOT NULL
                   OR coalesce(completed_at, updated_at) < now() - CAST(:older_than AS interval))
            ORDER BY id
            """
        )
        return (await self.session.execute(stmt, {"older_than": older_than})).all()

    async def settlements_not_once(self) -> Sequence[Any]:
        """Orders whose settlement is not exactly one settle transaction of a completed order, with
        its record and the order's settled_at agreeing."""
        stmt = text(
            """
            WITH tx AS (
                SELECT order_id, count(*) AS n, min(id) AS first_id FROM ledger_transactions
                WHERE kind IN ('settle_payin', 'settle_payout') GROUP BY order_id
            )
            SELECT coalesce(s.order_id, tx.order_id) AS order_id, o.status, o.settled_at IS NOT NULL AS marked,
                   coalesce(tx.n, 0) AS transactions, s.transaction_id, tx.first_id
            FROM order_settlements s
            FULL JOIN tx ON tx.order_id = s.order_id
            LEFT JOIN order_history o ON o.id = coalesce(s.order_id, tx.order_id)
            WHERE s.order_id IS NULL OR tx.order_id IS NULL OR tx.n <> 1 OR s.transaction_id <> tx.first_id
               OR o.status IS DISTINCT FROM 'completed' OR o.settled_at IS NULL
            ORDER BY 1
            """
        )
        return (await self.session.execute(stmt)).all()
