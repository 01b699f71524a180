"""Reading the audit log (`/admin/audit`): filters that each have an index, cursor pages."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.models import AuditLogEntry
from jivapay.adapters.db.platform.audit_view import AuditViewRepository
from jivapay.domain.platform.audit import AuditFilter


async def entries(
    session: AsyncSession, f: AuditFilter, *, starting_after: int | None, limit: int
) -> list[AuditLogEntry]:
    """Newest first (by id); ``starting_after`` is the last id of the previous page."""
    return await AuditViewRepository(session).entries(f.checked(), starting_after=starting_after, limit=limit)
