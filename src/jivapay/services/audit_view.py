"""Reading the audit log (`/admin/audit`): filters that each have an index, cursor pages."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import AuditLogEntry
from jivapay.adapters.db.repositories.audit_view import AuditViewRepository
from jivapay.domain.errors import ValidationFailed
from jivapay.domain.periods import check_period


@dataclasses.dataclass(frozen=True, slots=True)
class AuditFilter:
    actor_type: str | None = None
    actor_id: str | None = None
    action: str | None = None  # exact, or a prefix when it ends with "."
    target_type: str | None = None
    target_id: str | None = None
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None

    def check(self) -> None:
        if self.actor_id is not None and self.actor_type is None:
            raise ValidationFailed("actor_id needs actor_type", field="actor_type")
        if self.target_id is not None and self.target_type is None:
            raise ValidationFailed("target_id needs target_type", field="target_type")
        check_period(self.created_from, self.created_to, field="from")


async def entries(
    session: AsyncSession, f: AuditFilter, *, starting_after: int | None, limit: int
) -> list[AuditLogEntry]:
    """Newest first (by id); ``starting_after`` is the last id of the previous page."""
    f.check()
    created_from, created_to = check_period(f.created_from, f.created_to, field="from")
    return await AuditViewRepository(session).entries(
        actor_type=f.actor_type,
        actor_id=f.actor_id,
        action=f.action,
        target_type=f.target_type,
        target_id=f.target_id,
        created_from=created_from,
        created_to=created_to,
        starting_after=starting_after,
        limit=limit,
    )
