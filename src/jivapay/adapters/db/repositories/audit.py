from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import AuditLogEntry


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        actor_type: str,
        actor_id: str | None,
        action: str,
        target_type: str | None,
        target_id: str | None,
        details: dict[str, Any],
        ip: str | None,
    ) -> int:
        stmt = (
            insert(AuditLogEntry)
            .values(
                actor_type=actor_type,
                actor_id=actor_id,
                action=action,
                target_type=target_type,
                target_id=target_id,
                details=details,
                ip=ip,
            )
            .returning(AuditLogEntry.id)
        )
        return (await self.session.execute(stmt)).scalar_one()
