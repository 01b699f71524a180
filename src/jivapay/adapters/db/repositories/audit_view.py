from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import AuditLogEntry


class AuditViewRepository:
    """Reading the audit log (writing it is ``AuditRepository``)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def entries(
        self,
        *,
        actor_type: str | None = None,
        actor_id: str | None = None,
        action: str | None = None,
        target_type: str | None = None,
        target_id: str | None = None,
        created_from: dt.datetime | None = None,
        created_to: dt.datetime | None = None,
        starting_after: int | None,
        limit: int,
    ) -> list[AuditLogEntry]:
        """Entries matching every given filter (None: not filtered), newest first (by id);
        ``action`` is exact, or a prefix when it ends with "."; ``starting_after`` is the last id
        of the previous page."""
        stmt = select(AuditLogEntry).order_by(AuditLogEntry.id.desc()).limit(limit)
        exact = {
            AuditLogEntry.actor_type: actor_type,
            AuditLogEntry.actor_id: actor_id,
            AuditLogEntry.target_type: target_type,
            AuditLogEntry.target_id: target_id,
        }
        for column, value in exact.items():
            if value is not None:
                stmt = stmt.where(column == value)
        if action is not None:
            if action.endswith("."):
                escaped = action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                stmt = stmt.where(AuditLogEntry.action.like(escaped + "%", escape="\\"))
            else:
                stmt = stmt.where(AuditLogEntry.action == action)
        if created_from is not None:
            stmt = stmt.where(AuditLogEntry.created_at >= created_from)
        if created_to is not None:
            stmt = stmt.where(AuditLogEntry.created_at < created_to)
        if starting_after is not None:
            stmt = stmt.where(AuditLogEntry.id < starting_after)
        return list((await self.session.scalars(stmt)).all())
