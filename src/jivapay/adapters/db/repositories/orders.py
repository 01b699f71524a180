from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import IncomingOrder, OrderHistory

OPEN_UNPAID = ("pending_payment",)


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, order_id: int, *, for_update: bool = False) -> OrderHistory | None:
        stmt = select(OrderHistory).where(OrderHistory.id == order_id)
        if for_update:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add(self, order: OrderHistory) -> OrderHistory:
        self.session.add(order)
        await self.session.flush()
        return order

    async def unpaid_orders_of_client(self, store_id: int, client_id: str) -> int:
        stmt = (
            select(func.count())
            .select_from(IncomingOrder)
            .join(OrderHistory, OrderHistory.id == IncomingOrder.order_id)
            .where(
                IncomingOrder.store_id == store_id,
                IncomingOrder.client_id == client_id,
                OrderHistory.status.in_(OPEN_UNPAID),
            )
        )
        return int((await self.session.execute(stmt)).scalar_one())

    # --- incoming orders ---
    async def add_incoming(self, order: IncomingOrder) -> IncomingOrder:
        self.session.add(order)
        await self.session.flush()
        return order

    async def incoming(self, incoming_id: int, *, for_update: bool = False) -> IncomingOrder | None:
        stmt = select(IncomingOrder).where(IncomingOrder.id == incoming_id)
        if for_update:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def claim_due_incoming(self, limit: int, lease: dt.timedelta) -> list[int]:
        """Ids of new/retrying orders whose time has come; pushed a lease ahead so a tick sends each once."""
        result = await self.session.execute(
            text(
                """
                UPDATE incoming_orders SET next_attempt_at = now() + :lease
                WHERE id IN (
                    SELECT id FROM incoming_orders
                    WHERE status IN ('new', 'retrying') AND next_attempt_at <= now()
                    ORDER BY next_attempt_at, id LIMIT :limit FOR UPDATE SKIP LOCKED)
                RETURNING id
                """
            ),
            {"lease": lease, "limit": limit},
        )
        return sorted(int(row[0]) for row in result.all())

    async def record_failure(self, incoming_id: int, *, status: str, reason: str, next_attempt_at: dt.datetime) -> None:
        await self.session.execute(
            update(IncomingOrder)
            .where(IncomingOrder.id == incoming_id, IncomingOrder.status.in_(("new", "retrying")))
            .values(
                status=status,
                failure_reason=reason[:256],
                retry_count=IncomingOrder.retry_count + 1,
                last_attempt_at=func.now(),
                next_attempt_at=next_attempt_at,
            )
            .execution_options(synchronize_session=False)
        )
