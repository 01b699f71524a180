from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.filters import where_equal, where_in_period
from jivapay.adapters.db.models import AuditLogEntry
from jivapay.domain.platform.audit import AuditFilter


class AuditViewRepository:
    """Reading the audit log (writing it is ``AuditRepository``)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def entries(self, f: AuditFilter, *, starting_after: int | None, limit: int) -> list[AuditLogEntry]:
        """Entries matching every given filter of a checked one, newest first (by id); ``action``
        is exact, or a prefix when it ends with "."; ``starting_after`` is the last id of the
        previous page."""
        stmt = select(AuditLogEntry).order_by(AuditLogEntry.id.desc()).limit(limit)
        stmt = where_equal(
            stmt,
            {
                AuditLogEntry.actor_type: f.actor_type,
                AuditLogEntry.actor_id: f.actor_id,
                AuditLogEntry.target_type: f.target_type,
                AuditLogEntry.target_id: f.target_id,
            },
        )
        if f.action is not None:
            if f.action.endswith("."):
                escaped = f.action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                stmt = stmt.where(AuditLogEntry.action.like(escaped + "%", escape="\\"))
            else:
                stmt = stmt.where(AuditLogEntry.action == f.action)
        stmt = where_in_period(stmt, AuditLogEntry.created_at, f.created_from, f.created_to)
        if starting_after is not None:
            stmt = stmt.where(AuditLogEntry.id < starting_after)
        return list((await self.session.scalars(stmt)).all())
