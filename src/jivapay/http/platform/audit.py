"""The audit log, read by the admin (`/admin/audit`, MANAGE_USERS)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import get
from litestar.params import Parameter, QueryParameter

from jivapay.domain.platform.audit import AuditFilter
from jivapay.http.deps import transaction
from jivapay.http.guards import USERS
from jivapay.services.platform import audit_view


class AuditBody(msgspec.Struct):
    id: int
    at: dt.datetime
    actor_type: str
    actor_id: str | None
    action: str
    target_type: str | None
    target_id: str | None
    details: dict[str, Any]
    ip: str | None


class AuditPage(msgspec.Struct):
    data: list[AuditBody]
    has_more: bool


@get(
    "/audit",
    operation_id="admin_audit_log",
    tags=["admin"],
    guards=USERS,
    description="Who did what to what, newest first. Filter by actor (`actor_type`, `actor_id`), `action` (exact, "
    "or a prefix ending in `.`: `order.`), target (`target_type`, `target_id`) and time [`from`, `to`). Pass the "
    "last id as `starting_after` for the next page.",
)
async def audit_log(
    actor_type: str | None = Parameter(default=None, max_length=32),
    actor_id: str | None = Parameter(default=None, max_length=64),
    action: str | None = Parameter(default=None, max_length=64),
    target_type: str | None = Parameter(default=None, max_length=64),
    target_id: str | None = Parameter(default=None, max_length=64),
    created_from: Annotated[dt.datetime | None, QueryParameter(name="from")] = None,
    created_to: Annotated[dt.datetime | None, QueryParameter(name="to")] = None,
    starting_after: int | None = Parameter(default=None, ge=1, le=2**63 - 1),
    limit: int = Parameter(default=50, ge=1, le=500),
) -> AuditPage:
    f = AuditFilter(actor_type, actor_id, action, target_type, target_id, created_from, created_to)
    async with transaction("admin.audit") as session:
        rows = await audit_view.entries(session, f, starting_after=starting_after, limit=limit + 1)
    data = [
        AuditBody(
            r.id,
            r.created_at,
            r.actor_type,
            r.actor_id,
            r.action,
            r.target_type,
            r.target_id,
            r.details or {},
            str(r.ip) if r.ip else None,
        )
        for r in rows[:limit]
    ]
    return AuditPage(data, len(rows) > limit)


route_handlers = [audit_log]
