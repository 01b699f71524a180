"""The audit trail: who did what, written in the caller's transaction."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from jivapay.adapters.db.platform.audit import AuditRepository
from jivapay.domain.pii import mask_mapping
from jivapay.domain.platform.audit import Actor, Target

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


@dataclasses.dataclass(frozen=True, slots=True)
class AuditEntry:
    """An action to record later with others in one statement (``log_actions``)."""

    actor: Actor
    action: str
    target: Target | None = None
    details: dict[str, Any] | None = None
    ip: str | None = None


def audit_columns(entries: Sequence[AuditEntry]) -> dict[str, list[Any]]:
    """Masked entries as column arrays, for a statement that writes them along with its own change;
    the caller must execute it in the same transaction (see SelectionRepository.book)."""
    rows = [
        {
            "actor_type": e.actor.type,
            "actor_id": e.actor.id,
            "action": e.action,
            "target_type": e.target.type if e.target else None,
            "target_id": e.target.id if e.target else None,
            "details": mask_mapping(e.details or {}),
            "ip": e.ip,
        }
        for e in entries
    ]
    _log(entries)
    return AuditRepository.columns(rows)


async def log_actions(session: AsyncSession, entries: Sequence[AuditEntry]) -> None:
    """Record several actions in one round trip."""
    if entries:
        await AuditRepository(session).add_columns(audit_columns(entries))


def _log(entries: Sequence[AuditEntry]) -> None:
    for e in entries:
        log.info(
            "audit %s", e.action, extra={"actor": str(e.actor), "target": e.target and f"{e.target.type}:{e.target.id}"}
        )
