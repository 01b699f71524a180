from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import OrderDispute, OrderHistory


class DisputeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, dispute: OrderDispute) -> OrderDispute:
        self.session.add(dispute)
        await self.session.flush()
        return dispute

    async def get(self, order_id: int, *, for_update: bool = False) -> OrderDispute | None:
        stmt = select(OrderDispute).where(OrderDispute.order_id == order_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def resolve_open(self, order_id: int, *, resolution: str, resolved_by: str, comment: str | None) -> None:
        """Marks the order's dispute resolved, unless it already is (then nothing changes)."""
        await self.session.execute(
            update(OrderDispute)
            .where(OrderDispute.order_id == order_id, OrderDispute.resolved_at.is_(None))
            .values(resolved_at=func.now(), resolution=resolution, resolved_by=resolved_by, resolution_comment=comment)
        )

    async def open_queue(
        self,
        *,
        priority: str | None,
        overdue_at: dt.datetime | None,
        after: OrderDispute | None,
        limit: int,
    ) -> list[tuple[OrderDispute, OrderHistory]]:
        """Open disputes with their orders, the nearest SLA deadline first (ties by order id).

        ``overdue_at``: only those whose deadline is before it; ``after``: the last dispute of
        the previous page (keyset on deadline, order id).
        """
        stmt = (
            select(OrderDispute, OrderHistory)
            .join(OrderHistory, OrderHistory.id == OrderDispute.order_id)
            .where(OrderDispute.resolved_at.is_(None))
            .order_by(OrderDispute.sla_deadline, OrderDispute.order_id)
            .limit(limit)
        )
        if priority is not None:
            stmt = stmt.where(OrderDispute.priority == priority)
        if overdue_at is not None:
            stmt = stmt.where(OrderDispute.sla_deadline < overdue_at)
        if after is not None:
            stmt = stmt.where(
                (OrderDispute.sla_deadline > after.sla_deadline)
                | ((OrderDispute.sla_deadline == after.sla_deadline) & (OrderDispute.order_id > after.order_id))
            )
        rows = (await self.session.execute(stmt)).all()
        return [(dispute, order) for dispute, order in rows]
