"""The audit trail: who did what, written in the caller's transaction."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.repositories.audit import AuditRepository
from jivapay.domain.audit import Actor, Target
from jivapay.domain.pii import mask_mapping

log = logging.getLogger("jivapay.audit")


async def log_action(
    session: AsyncSession,
    actor: Actor,
    action: str,
    target: Target | None = None,
    details: dict[str, Any] | None = None,
    ip: str | None = None,
) -> int:
    """Record an action; it commits or rolls back together with the change it describes.

    Personal data in ``details`` is masked before it is stored.
    """
    safe_details = mask_mapping(details or {})
    entry_id = await AuditRepository(session).add(
        actor_type=actor.type,
        actor_id=actor.id,
        action=action,
        target_type=target.type if target else None,
        target_id=target.id if target else None,
        details=safe_details,
        ip=ip,
    )
    log.info("audit %s", action, extra={"actor": str(actor), "target": target and f"{target.type}:{target.id}"})
    return entry_id
