"""What a privacy (access) request needs beyond the person's own rows: their orders and the
audit entries about them or by them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import AuditLogEntry, OrderHistory, Store

EXPORT_LIMIT = 10_000


class PrivacyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def orders_of(self, user_id: int, role: str) -> Sequence[OrderHistory]:
        """A trader's orders, or the orders of a merchant's stores (newest first)."""
        stmt = select(OrderHistory).order_by(OrderHistory.id.desc()).limit(EXPORT_LIMIT)
        if role == "trader":
            stmt = stmt.where(OrderHistory.trader_id == user_id)
        elif role == "merchant":
            stmt = stmt.where(OrderHistory.store_id.in_(select(Store.id).where(Store.merchant_id == user_id)))
        else:
            return []
        return (await self.session.scalars(stmt)).all()

    async def audit_about(self, user_id: int) -> Sequence[AuditLogEntry]:
        """Entries whose actor or target is the person (details are masked at write time)."""
        who = str(user_id)
        stmt = (
            select(AuditLogEntry)
            .where(
                or_(
                    and_(AuditLogEntry.actor_type == "user", AuditLogEntry.actor_id == who),
                    and_(AuditLogEntry.target_type == "user", AuditLogEntry.target_id == who),
                )
            )
            .order_by(AuditLogEntry.id.desc())
            .limit(EXPORT_LIMIT)
        )
        return (await self.session.scalars(stmt)).all()
